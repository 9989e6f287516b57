"""Fixtures for devpush_dev: the real Docker engine, free loopback ports, labelled containers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from devpush.core.config import Settings
from devpush.core.labels import runner_labels
from devpush_dev.ports import free_port
from devpush_dev.runners import BUSYBOX_IMAGE
from devpush_dev.socket_proxy import (
    ALLOY_DOOR,
    WORKER_DOOR,
    SocketProxy,
    socket_path_from_docker_host,
    start_socket_proxy,
)


@pytest.fixture
def exited_runner(docker_client: docker.DockerClient) -> Iterator[Container]:
    """A runner-labelled busybox container that printed one line and exited."""
    container = docker_client.containers.run(
        BUSYBOX_IMAGE,
        ["echo", "hello"],
        labels=runner_labels(
            project_id="p-proxy",
            environment_id="e-proxy",
            branch="main",
            deployment_id=f"d-{uuid.uuid4().hex[:12]}",
        ),
        detach=True,
    )
    try:
        container.wait(timeout=30)
        yield container
    finally:
        container.remove(force=True)


def _door(env_file: Path, state_dir: Path) -> Iterator[SocketProxy]:
    proxy = start_socket_proxy(
        env_file=env_file,
        port=free_port(),
        state_dir=state_dir,
        socket_path=socket_path_from_docker_host(Settings().docker_host),
    )
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="module")
def alloy_door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SocketProxy]:
    """The read-only door Alloy's discovery uses (Docker/docker-proxy/alloy.env)."""
    yield from _door(ALLOY_DOOR, tmp_path_factory.mktemp("alloy-door"))


@pytest.fixture(scope="module")
def worker_door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SocketProxy]:
    """The deploy worker's door (Docker/docker-proxy/worker.env)."""
    yield from _door(WORKER_DOOR, tmp_path_factory.mktemp("worker-door"))
