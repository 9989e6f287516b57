"""A build pushed to the registry and deleted from it: the pinned registry binary on
loopback (devpush_dev/registry.py) and the test machine's Docker engine (which takes a
loopback registry over plain HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from devpush.services import builds
from devpush.services.cluster import registry
from devpush_dev.ports import free_port
from devpush_dev.registry import Registry, start_registry

pytestmark = pytest.mark.docker

IMAGE = "devpush/busybox:local"


@pytest.fixture
def loopback_registry(tmp_path: Path) -> Iterator[Registry]:
    started = start_registry(state_dir=tmp_path / "registry", address=f"127.0.0.1:{free_port()}")
    try:
        yield started
    finally:
        started.stop()


def manifest_status(image: str) -> int:
    host, _, rest = image.partition("/")
    repository, _, tag = rest.rpartition(":")
    return httpx.head(
        f"http://{host}/v2/{repository}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    ).status_code


def test_a_pushed_build_is_in_the_registry_until_it_is_collected(
    docker_client: docker.DockerClient, loopback_registry: Registry
) -> None:
    name = registry.image_name(
        loopback_registry.address, project_id=uuid.uuid4().hex, deployment_id=uuid.uuid4().hex
    )
    repository, _, tag = name.rpartition(":")
    docker_client.images.get(IMAGE).tag(repository, tag)
    try:
        registry.push(docker_client, name)
        assert manifest_status(name) == 200
        assert registry.registry_of(name) == loopback_registry.address
        # Collected: gone from the engine and from the registry.
        assert builds.remove_build(docker_client, name)
        assert manifest_status(name) == 404
        assert registry.delete(name) is False
    finally:
        builds.remove_build(docker_client, name)


def test_a_registry_that_does_not_answer_says_why(docker_client: docker.DockerClient) -> None:
    name = registry.image_name(
        f"127.0.0.1:{free_port()}", project_id="p" * 32, deployment_id="d" * 32
    )
    repository, _, tag = name.rpartition(":")
    docker_client.images.get(IMAGE).tag(repository, tag)
    try:
        with pytest.raises(registry.RegistryError, match="did not take the build"):
            registry.push(docker_client, name)
        with pytest.raises(registry.RegistryError, match="cannot delete the build"):
            registry.delete(name)
    finally:
        docker_client.images.remove(name, force=True)


def test_a_local_build_names_no_registry() -> None:
    assert registry.registry_of("devpush-build/p:d") is None
    assert registry.registry_of("10.0.0.1:5000/devpush/p:d") == "10.0.0.1:5000"
    assert registry.registry_of("registry.internal/devpush/p:d") == "registry.internal"
