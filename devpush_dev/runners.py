"""Stand-in runner containers on the real engine, for the tests and the benchmarks.

A stand-in runs the local busybox image with a runner's labels and log options, so the
collectors see what they see for a deployment. :class:`Runners` keeps what it started
and removes it all at the end, pass or fail.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

import docker
from docker.models.containers import Container
from docker.types import LogConfig

#: Built locally by the provisioning (nothing is pulled).
BUSYBOX_IMAGE: Final = "devpush/busybox:local"


def remove_project_leftovers(client: docker.DockerClient, project_id: str) -> None:
    """A project's runners, the builds the worker kept for its rollbacks and its build
    cache volume (the worker labels all three), as a test or a benchmark leaves them."""
    label = f"devpush.project_id={project_id}"
    for container in client.containers.list(all=True, filters={"label": label}):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    for image in client.images.list(filters={"label": [label, "devpush.role=build"]}):
        with contextlib.suppress(docker.errors.NotFound):
            client.images.remove(image.id, force=True)
    for volume in client.volumes.list(filters={"label": [label, "devpush.role=build-cache"]}):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            volume.remove(force=True)


class Runners:
    """Busybox containers started for one test or one run; :meth:`remove_all` removes them."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.started: list[Container] = []

    def create(
        self,
        command: Sequence[str],
        *,
        labels: Mapping[str, str],
        log_config: LogConfig,
        **options: Any,
    ) -> Container:
        """A created container (``options`` go to ``containers.create`` as they are)."""
        container = self.client.containers.create(
            BUSYBOX_IMAGE, list(command), labels=dict(labels), log_config=log_config, **options
        )
        self.started.append(container)
        return container

    def run(
        self,
        command: Sequence[str],
        *,
        labels: Mapping[str, str],
        log_config: LogConfig,
        wait: float | None = 60.0,
        **options: Any,
    ) -> Container:
        """Create and start; wait up to ``wait`` seconds for it to exit (None: don't wait)."""
        container = self.create(command, labels=labels, log_config=log_config, **options)
        container.start()
        if wait is not None:
            container.wait(timeout=wait)
        container.reload()
        return container

    def remove_all(self) -> None:
        for container in self.started:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        self.started.clear()
