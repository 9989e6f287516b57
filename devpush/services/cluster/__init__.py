"""Swarm mode (``DEVPUSH_SWARM=1``): the hosts of a Docker Swarm and, later, runners as
its services. Nothing here is used on a single-server install."""
