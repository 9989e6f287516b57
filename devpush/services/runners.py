"""A deployment's runner, wherever it runs: a container on the one engine, or in swarm
mode (``DEVPUSH_SWARM=1``) a service whose task runs on any host
(:class:`~devpush.services.cluster.runner_services.ServiceTask`, which the jobs read as
they read a container). The jobs find and stop runners through here."""

from __future__ import annotations

import docker
from docker.models.containers import Container

from devpush.core.config import Settings
from devpush.services import runner
from devpush.services.cluster import runner_services


def get_runner(
    client: docker.DockerClient, settings: Settings, id_or_name: str
) -> Container | None:
    """The runner ``id_or_name`` (the deployment's ``container_id``, or its name)."""
    if settings.swarm:
        return runner_services.get_service_task(client, settings, id_or_name)
    return runner.get_container(client, id_or_name)


def stop_runner(client: docker.DockerClient, settings: Settings, id_or_name: str) -> None:
    """Stop the runner and keep it (its log stays for the collector); missing is fine.

    A service scales to 0: its task's container stays on its host, as a stopped
    container does (``service rm`` would delete its log at once).
    """
    if settings.swarm:
        runner_services.stop_runner_service(client, id_or_name)
        return
    runner.stop_container(client, id_or_name, timeout=settings.runner_stop_timeout_seconds)


def replicas(container: Container) -> list[Container]:
    """Each running copy of a runner: a service's running tasks, or the container itself."""
    if isinstance(container, runner_services.ServiceTask):
        return container.replicas()
    return [container]
