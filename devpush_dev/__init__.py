"""Start devpush's helper processes on loopback: the Docker socket proxy, Caddy, the log
stores (VictoriaLogs, Loki) and collectors (the OpenTelemetry Collector, Alloy).

Shared by the end-to-end tests and by the local run; production runs the same configs
under Compose. This is the development package: it lives beside ``devpush/``, which never
imports it, and neither the wheel nor the image carries it.
"""
