"""Runners as Swarm services (swarm mode): one service per deployment.

Each deployment's runner is a replicated service of one task, on its project's
attachable overlay network (``<runner_network>-<project id>``, as the bridge of a single
server: projects stay apart, and the proxy joins each project's overlay). The task's
address is its IP on that overlay: the service uses ``--endpoint-mode dnsrr`` because
Swarm's virtual IPs need IPVS, which not every kernel has, and the proxy reaches a
task's IP as it reaches a container's today.

The task fetches its source when it starts (:mod:`devpush.services.cluster.source_server`):
a service cannot be given files before it starts, and the task may start on any host.
Its command fetches the archive with a one-time token, unsets the token and runs the step
script exactly as a single-server runner does.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import Any, Final

import docker
from docker.errors import NotFound
from docker.types import (
    ContainerSpec,
    EndpointSpec,
    NetworkAttachmentConfig,
    Placement,
    Resources,
    RestartPolicy,
    TaskTemplate,
)
from docker.utils import parse_bytes

from devpush.core.config import Settings
from devpush.core.errors import Unavailable
from devpush.core.labels import (
    LABEL_PREFIX,
    PROJECT_LABEL,
    ROLE_LABEL,
    RUNNER_LOG_LABELS_OPTION,
    RUNNER_ROLE,
    runner_labels,
)
from devpush.services.networks import NETWORK_ROLE, project_network
from devpush.services.runner import SCRIPT_PATH, RunnerSpec, container_name, working_dir

#: The task's environment that tells it where its source is (unset before the app starts).
SOURCE_URL_ENV: Final = "DEVPUSH_SOURCE_URL"
SOURCE_TOKEN_ENV: Final = "DEVPUSH_SOURCE_TOKEN"  # noqa: S105 (a variable name, not a secret)
#: Fetches the archive (python3: the runner images have it) and unpacks it at ``/``.
_FETCH: Final = (
    "import os, tarfile, urllib.request as u\n"
    f"r = u.Request(os.environ['{SOURCE_URL_ENV}'], headers={{'Authorization': "
    f"'Bearer ' + os.environ['{SOURCE_TOKEN_ENV}']}})\n"
    "with u.urlopen(r, timeout=60) as a:\n"
    "    tarfile.open(fileobj=a, mode='r|').extractall('/')\n"
)
#: Task states after which the task never runs again (docker/swarmkit's TaskState).
_ENDED: Final = frozenset({"complete", "failed", "shutdown", "rejected", "orphaned", "remove"})


class ServiceError(Unavailable):
    """A runner service could not be made, placed or started; ``str()`` is fit to show."""


@dataclass(frozen=True, slots=True)
class TaskPlace:
    """Where a runner task runs: its node and its IP on the project's overlay."""

    node_id: str
    address: str


def host_label_constraints(host_label: str | None) -> list[str]:
    """``zone=eu`` → ``node.labels.zone==eu``; none: the swarm spreads (fewest tasks first).

    Drained or paused nodes never get new tasks either way.
    """
    if not host_label:
        return []
    key, sep, value = host_label.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ValueError(f"a host label is key=value, not {host_label!r}")
    return [f"node.labels.{key.strip()}=={value.strip()}"]


def ensure_project_overlay(client: docker.DockerClient, settings: Settings, project_id: str) -> str:
    """The project's attachable overlay network, created if missing; its name."""
    name = project_network(settings, project_id)
    if client.networks.list(names=[name]):
        return name
    client.networks.create(
        name,
        driver="overlay",
        attachable=True,
        labels={ROLE_LABEL: NETWORK_ROLE, f"{LABEL_PREFIX}{PROJECT_LABEL}": project_id},
    )
    return name


def fetch_and_run_command() -> list[str]:
    """The task's command: fetch the source, drop the token, run the step script."""
    return [
        "/bin/sh",
        "-c",
        f"python3 -c {shlex.quote(_FETCH)} && unset {SOURCE_TOKEN_ENV} {SOURCE_URL_ENV}"
        f" && exec /bin/sh {SCRIPT_PATH}",
    ]


def runner_service_spec(
    *,
    spec: RunnerSpec,
    environment: dict[str, str],
    settings: Settings,
    source_url: str,
    source_token: str,
    host_label: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``APIClient.create_service`` for one deployment's runner."""
    labels = runner_labels(
        project_id=spec.project_id,
        environment_id=spec.environment_id,
        branch=spec.branch,
        deployment_id=spec.deployment_id,
    )
    labels[ROLE_LABEL] = RUNNER_ROLE
    network = project_network(settings, spec.project_id)
    container = ContainerSpec(
        image=spec.image,
        command=fetch_and_run_command(),
        env={**environment, SOURCE_URL_ENV: source_url, SOURCE_TOKEN_ENV: source_token},
        workdir=working_dir(spec.root_directory),
        labels=labels,
        init=True,
        stop_signal="SIGTERM",
        stop_grace_period=settings.runner_stop_timeout_seconds * 1_000_000_000,
    )
    # No ``no-new-privileges``: the SDK's ContainerSpec has no security options yet.
    task = TaskTemplate(
        container_spec=container,
        resources=Resources(
            cpu_limit=int((spec.cpus or settings.runner_cpus) * 1_000_000_000),
            mem_limit=parse_bytes(spec.memory or settings.runner_memory),
        ),
        # A runner that exits failed its deploy, as on one server: never restarted.
        restart_policy=RestartPolicy(condition="none"),
        placement=Placement(constraints=host_label_constraints(host_label)),
        log_driver={
            "Name": "json-file",
            "Options": {
                "max-size": settings.runner_log_max_size,
                "max-file": str(settings.runner_log_max_file),
                "labels": RUNNER_LOG_LABELS_OPTION,
            },
        },
        networks=[NetworkAttachmentConfig(target=network)],
    )
    return {
        "task_template": task,
        "name": container_name(spec.deployment_id),
        "labels": labels,
        "endpoint_spec": EndpointSpec(mode="dnsrr"),
    }


def create_runner_service(client: docker.DockerClient, kwargs: dict[str, Any]) -> str:
    """Create the service; its id."""
    created = client.api.create_service(**kwargs)
    return str(created["ID"])


def _address(task: dict[str, Any], network: str) -> str | None:
    for attachment in task.get("NetworksAttachments") or []:
        if (attachment.get("Network") or {}).get("Spec", {}).get("Name") == network:
            addresses = attachment.get("Addresses") or []
            if addresses:
                return str(addresses[0]).partition("/")[0]
    return None


def wait_for_task(
    client: docker.DockerClient, service_id: str, *, network: str, timeout: float
) -> TaskPlace:
    """The running task's node and overlay IP; :class:`ServiceError` if it ends or never
    runs within ``timeout`` seconds (with Swarm's reason, e.g. no node fits)."""
    deadline = time.monotonic() + timeout
    reason = "no task yet"
    while time.monotonic() < deadline:
        for task in client.api.tasks(filters={"service": service_id}):
            status = task.get("Status") or {}
            state = status.get("State", "")
            address = _address(task, network)
            if state == "running" and address:
                return TaskPlace(node_id=str(task.get("NodeID", "")), address=address)
            if state in _ENDED:
                raise ServiceError(f"the runner task {state}: {status.get('Err') or 'no reason'}")
            reason = f"{state}: {status.get('Err') or status.get('Message') or ''}".strip()
        time.sleep(0.2)
    raise ServiceError(f"the runner task did not start within {timeout:g} s ({reason})")


def stop_runner_service(client: docker.DockerClient, service_id: str) -> None:
    """Scale to 0: the task stops and its container (and json-file log) stays for the
    collector, as ``service rm`` would not keep it. A missing service is fine."""
    try:
        client.services.get(service_id).scale(0)
    except NotFound:
        return


def remove_runner_service(client: docker.DockerClient, service_id: str) -> None:
    try:
        client.api.remove_service(service_id)
    except NotFound:
        return
