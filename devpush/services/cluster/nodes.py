"""The swarm's hosts, read from its manager's engine (``docker node ls`` and its tasks).

A host is a swarm node: its id, host name, address, state, availability, labels (placement
takes them), the runners it runs now and the CPU and memory its engine reports. The
engine is ``Settings.docker_host``, which must be a manager's in swarm mode.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import docker
from docker.errors import APIError, DockerException

from devpush.core.config import Settings
from devpush.core.errors import NotFound, Unavailable
from devpush.core.labels import ROLE_LABEL, RUNNER_ROLE
from devpush.units import CPU_NANOS

#: A listing answers in milliseconds; a page must not hang on a stuck manager.
_TIMEOUT_SECONDS: Final = 5
#: The refusal a user who is no admin reads (the page, the API, the CLI).
ADMINS_ONLY: Final = "only a server administrator can list hosts"


class SwarmOff(NotFound):
    """Swarm mode is not turned on (``DEVPUSH_SWARM``)."""


class SwarmUnavailable(Unavailable):
    """The engine cannot be asked, or is not a swarm manager; the message says which."""


@dataclass(frozen=True)
class Host:
    """One swarm node, as the page, the CLI and the API (``GET /api/v1/hosts``) show it."""

    id: str
    hostname: str
    #: The address the node advertises to the swarm.
    address: str
    #: ready, down, disconnected or unknown (the node's status).
    state: str
    #: active, pause or drain (the node's spec).
    availability: str
    #: manager or worker.
    role: str
    labels: dict[str, str]
    #: Runner tasks running on the host now.
    runners: int
    #: CPU cores and memory the host's engine reports.
    cpus: float
    memory_bytes: int


def _host(node: Mapping[str, Any], runners: int) -> Host:
    spec = node.get("Spec") or {}
    description = node.get("Description") or {}
    resources = description.get("Resources") or {}
    status = node.get("Status") or {}
    return Host(
        id=str(node["ID"]),
        hostname=str(description.get("Hostname", "")),
        address=str(status.get("Addr", "")),
        state=str(status.get("State", "unknown")),
        availability=str(spec.get("Availability", "")),
        role=str(spec.get("Role", "")),
        labels=dict(spec.get("Labels") or {}),
        runners=runners,
        cpus=int(resources.get("NanoCPUs", 0)) / CPU_NANOS,
        memory_bytes=int(resources.get("MemoryBytes", 0)),
    )


def runners_per_node(tasks: list[Mapping[str, Any]]) -> Counter[str]:
    """Running runner tasks (``devpush.role=runner``) by node id."""
    counts: Counter[str] = Counter()
    for task in tasks:
        labels = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Labels") or {}
        state = (task.get("Status") or {}).get("State")
        if labels.get(ROLE_LABEL) == RUNNER_ROLE and state == "running" and task.get("NodeID"):
            counts[str(task["NodeID"])] += 1
    return counts


def runner_services_on(tasks: list[Mapping[str, Any]], node_id: str) -> set[str]:
    """The runner services with a running task on the node (their ids), as the manager
    last heard: a down node's tasks stay ``running`` there (their desired state becomes
    ``shutdown``, and Swarm replaces no ``restart: none`` task)."""
    found: set[str] = set()
    for task in tasks:
        labels = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Labels") or {}
        state = (task.get("Status") or {}).get("State")
        on_node = str(task.get("NodeID", "")) == node_id and task.get("ServiceID")
        if labels.get(ROLE_LABEL) == RUNNER_ROLE and state == "running" and on_node:
            found.add(str(task["ServiceID"]))
    return found


def takes_runners(host: Host, host_label: str | None) -> bool:
    """Whether Swarm may place a new runner of a project with ``host_label`` on the host:
    ready, active, and the label (``key=value``) among its labels when one is set."""
    if host.state != "ready" or host.availability != "active":
        return False
    if not host_label:
        return True
    key, _, value = host_label.partition("=")
    return host.labels.get(key.strip()) == value.strip()


@contextmanager
def manager_client(settings: Settings) -> Iterator[docker.DockerClient]:
    """The swarm manager's engine; Docker's failures as :class:`SwarmUnavailable`."""
    if not settings.swarm:
        raise SwarmOff("swarm mode is off: set DEVPUSH_SWARM=1 to list hosts")
    try:
        client = docker.DockerClient(base_url=settings.docker_host, timeout=_TIMEOUT_SECONDS)
        try:
            yield client
        finally:
            client.close()
    except APIError as exc:
        reason = exc.explanation or str(exc)
        if exc.status_code != 503:
            raise SwarmUnavailable(f"the swarm manager refused: {reason}") from exc
        raise SwarmUnavailable(f"the Docker engine is not a swarm manager: {reason}") from exc
    except DockerException as exc:
        raise SwarmUnavailable(f"cannot reach the Docker engine: {exc}") from exc


def read_hosts(client: docker.DockerClient) -> list[Host]:
    """Every node of the swarm, managers first, then by host name."""
    nodes = client.api.nodes()
    tasks = client.api.tasks(filters={"desired-state": "running"})
    counts = runners_per_node(tasks)
    hosts = [_host(node, counts[str(node["ID"])]) for node in nodes]
    return sorted(hosts, key=lambda host: (host.role != "manager", host.hostname, host.id))


def list_hosts(settings: Settings) -> list[Host]:
    """Every node of the swarm, managers first, then by host name."""
    with manager_client(settings) as client:
        return read_hosts(client)
