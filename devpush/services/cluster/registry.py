"""Swarm mode's registry: where a Dockerfile build goes so that any host can run it.

A service's task may start on any host, and a build exists only on the manager's engine
that built it. So in swarm mode the worker tags a Dockerfile build
``<registry>/devpush/<project id>:<deployment id>`` (``DEVPUSH_SWARM_REGISTRY``: the
registry devpush runs, docker-stack.registry.yml), pushes it through the manager's engine
(``POST /images/<name>/push``: the worker's door already allows images), and the runner
service names that image: the task's host pulls it. The pushed image is also the
deployment's kept build, so a rollback to it starts on any host too.
"""

from __future__ import annotations

import re
from typing import Any, Final

import docker
import httpx
from docker.errors import APIError

from devpush.core.errors import Unavailable

#: The repository namespace of devpush's builds in the registry.
NAMESPACE: Final = "devpush"
#: The setting's name, as an operator sets it.
SETTING: Final = "DEVPUSH_SWARM_REGISTRY"
#: ``host:port``: a host name or an IPv4 address, and a port (a registry address as
#: Docker reads it: the part before the first ``/`` of an image name).
_ADDRESS: Final = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?:[0-9]{1,5}$")

#: The manifest kinds a build's tag may name (Docker's and OCI's, single or a list).
_MANIFESTS: Final = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)

#: Why a Dockerfile build or a rollback is refused in swarm mode without a registry.
NO_REGISTRY: Final = (
    "in swarm mode a Dockerfile build or a rollback runs from an image every host pulls:"
    f" set {SETTING} to the registry devpush runs (docs/scaling.md)"
)


class RegistryError(Unavailable):
    """The registry refused or could not take a build; ``str()`` is fit to show."""


def registry_address(value: str) -> str:
    """``host:port`` checked; raises ValueError with what is wrong."""
    value = value.strip()
    if not _ADDRESS.match(value) or not 0 < int(value.rpartition(":")[2]) < 65536:
        raise ValueError(f"{SETTING} must be host:port (no scheme, no path), not {value!r}")
    return value


def image_name(registry: str, *, project_id: str, deployment_id: str) -> str:
    """A deployment's build in the registry: one repository per project, a tag per
    deployment (``<registry>/devpush/<project id>:<deployment id>``)."""
    return f"{registry_address(registry)}/{NAMESPACE}/{project_id}:{deployment_id}"


def in_registry(registry: str, image: str) -> bool:
    """Whether ``image`` is one of devpush's builds in ``registry`` (any host can pull it)."""
    return bool(registry) and image.startswith(f"{registry.strip()}/{NAMESPACE}/")


def push_error(chunks: list[dict[str, Any]]) -> str | None:
    """The engine's push stream's error (None: pushed). Docker answers 200 and says a
    failure inside the stream."""
    for chunk in chunks:
        error = chunk.get("error") or (chunk.get("errorDetail") or {}).get("message")
        if error:
            return str(error).strip()
    return None


def push(client: docker.DockerClient, image: str) -> None:
    """Push ``image`` (tagged with its registry) through the engine; :class:`RegistryError`
    with the engine's reason when it cannot."""
    repository, _, tag = image.rpartition(":")
    try:
        chunks = list(client.api.push(repository, tag=tag, stream=True, decode=True))
    except (APIError, OSError) as exc:
        raise RegistryError(f"the registry did not take the build {image}: {exc}") from exc
    error = push_error(chunks)
    if error is not None:
        raise RegistryError(f"the registry did not take the build {image}: {error}")


def ensure_local(client: docker.DockerClient, image: str) -> None:
    """Pull ``image`` onto the engine if it is not there (a rollback reads its config)."""
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        repository, _, tag = image.rpartition(":")
        try:
            client.images.pull(repository, tag=tag)
        except (APIError, OSError) as exc:
            raise RegistryError(f"cannot pull the kept build {image}: {exc}") from exc


def registry_of(image: str) -> str | None:
    """The registry an image name names (``host:port/…``); None for a local name such as
    ``devpush-build/<project>:<deployment>``."""
    first, sep, _ = image.partition("/")
    return first if sep and (":" in first or "." in first) else None


def delete(image: str, *, timeout: float = 10.0) -> bool:
    """Delete a collected build's manifest from its registry (plain HTTP, as the hosts
    reach it); its layers go at the registry's next ``garbage-collect``. False: the
    registry has no such build. :class:`RegistryError` when it cannot be asked."""
    host, _, rest = image.partition("/")
    repository, _, tag = rest.rpartition(":")
    manifests = f"http://{host}/v2/{repository}/manifests"
    try:
        with httpx.Client(timeout=timeout) as client:
            head = client.head(f"{manifests}/{tag}", headers={"Accept": _MANIFESTS})
            if head.status_code == 404:
                return False
            head.raise_for_status()
            digest = head.headers["Docker-Content-Digest"]
            client.delete(f"{manifests}/{digest}").raise_for_status()
    except (httpx.HTTPError, KeyError) as exc:
        raise RegistryError(f"cannot delete the build {image} from its registry: {exc}") from exc
    return True
