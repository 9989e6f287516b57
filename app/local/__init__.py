"""Start the log pipeline's processes on loopback: the Docker socket proxy, Loki, Alloy.

Shared by the end-to-end tests and by the local run; production runs the same configs
under Compose.
"""
