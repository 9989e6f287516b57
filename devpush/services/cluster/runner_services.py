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
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from docker.types import (
    ContainerSpec,
    EndpointSpec,
    NetworkAttachmentConfig,
    Placement,
    Resources,
    RestartPolicy,
    ServiceMode,
    TaskTemplate,
)
from docker.utils import parse_bytes

from devpush.core.config import Settings
from devpush.core.errors import Unavailable
from devpush.core.labels import LABEL_PREFIX, PROJECT_LABEL, ROLE_LABEL, RUNNER_ROLE
from devpush.services.networks import NETWORK_ROLE, project_network
from devpush.services.runner import (
    SCRIPT_PATH,
    RunnerSpec,
    container_name,
    docker_time,
    runner_limits,
    runner_log_options,
    runner_role_labels,
    working_dir,
)

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


def script_command(script: str) -> list[str]:
    """The task's command when its image already holds the app (a Dockerfile build in the
    registry, or a rollback to one): the step script itself, nothing to fetch."""
    return ["/bin/sh", "-c", script]


def runner_service_spec(
    *,
    spec: RunnerSpec,
    environment: dict[str, str],
    settings: Settings,
    source_url: str | None = None,
    source_token: str | None = None,
    script: str | None = None,
    host_label: str | None = None,
    replicas: int = 1,
) -> dict[str, Any]:
    """Keyword arguments of ``APIClient.create_service`` for one deployment's runner.

    The task either fetches its source (``source_url`` and ``source_token``: the runner
    image and a checkout) or runs ``script`` in an image that holds the app (a pushed
    Dockerfile build). ``replicas``: 0 makes the service without starting its task (the
    deploy job scales it to 1 once it is recorded, as it starts a created container).
    """
    if source_url is not None and source_token is not None:
        command = fetch_and_run_command()
        env = {**environment, SOURCE_URL_ENV: source_url, SOURCE_TOKEN_ENV: source_token}
    elif script is not None:
        command, env = script_command(script), dict(environment)
    else:
        raise ValueError("a runner service needs its source's address or its script")
    labels = runner_role_labels(
        project_id=spec.project_id,
        environment_id=spec.environment_id,
        branch=spec.branch,
        deployment_id=spec.deployment_id,
    )
    network = project_network(settings, spec.project_id)
    container = ContainerSpec(
        image=spec.image,
        command=command,
        env=env,
        # A Dockerfile build runs in its image's WORKDIR, as on one server.
        workdir=None if spec.image_workdir else working_dir(spec.root_directory),
        labels=labels,
        init=True,
        stop_signal="SIGTERM",
        stop_grace_period=settings.runner_stop_timeout_seconds * 1_000_000_000,
    )
    limits = runner_limits(spec, settings)
    # No ``no-new-privileges``: the SDK's ContainerSpec has no security options yet.
    task = TaskTemplate(
        container_spec=container,
        resources=Resources(cpu_limit=limits.nano_cpus, mem_limit=parse_bytes(limits.memory)),
        # A runner that exits failed its deploy, as on one server: never restarted.
        restart_policy=RestartPolicy(condition="none"),
        placement=Placement(constraints=host_label_constraints(host_label)),
        log_driver={
            "Name": "json-file",
            "Options": runner_log_options(
                max_size=settings.runner_log_max_size, max_file=settings.runner_log_max_file
            ),
        },
        networks=[NetworkAttachmentConfig(target=network)],
    )
    return {
        "task_template": task,
        "name": container_name(spec.deployment_id),
        "labels": labels,
        "mode": ServiceMode("replicated", replicas=replicas),
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


# A runner service as the deploy, stop and reconcile jobs see a runner container ----------


def _container_status(state: str) -> str:
    """A task's state as a container's status: created (not yet), running, or exited."""
    if state == "running":
        return "running"
    return "exited" if state in _ENDED else "created"


def newest_task(tasks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The service's newest task (one replica, never restarted: its only one, or none)."""
    return max(tasks, key=lambda task: str(task.get("CreatedAt", "")), default=None)


def task_attrs(
    service: dict[str, Any], task: dict[str, Any] | None, network: str
) -> dict[str, Any]:
    """A container's ``attrs``, as far as the jobs read them, from a service and its task.

    Its id is the service's (what the deployment records); its status, exit code and
    address on the project's overlay are the task's.
    """
    spec = service.get("Spec") or {}
    template = spec.get("TaskTemplate") or {}
    container_spec = template.get("ContainerSpec") or {}
    status = (task or {}).get("Status") or {}
    address = _address(task, network) if task is not None else None
    limits = (template.get("Resources") or {}).get("Limits") or {}
    return {
        "Id": service["ID"],
        "Name": f"/{spec.get('Name', '')}",
        "State": {
            "Status": _container_status(str(status.get("State", "new"))),
            "ExitCode": int((status.get("ContainerStatus") or {}).get("ExitCode") or 0),
            # Only the task's own engine knows; the manager does not say.
            "OOMKilled": False,
            "FinishedAt": status.get("Timestamp", ""),
        },
        "Config": {
            "Env": list(container_spec.get("Env") or []),
            "Labels": dict(container_spec.get("Labels") or {}),
            "Image": container_spec.get("Image", ""),
        },
        "HostConfig": {"Memory": int(limits.get("MemoryBytes") or 0)},
        "NetworkSettings": {"Networks": {network: {"IPAddress": address}} if address else {}},
        "Node": str((task or {}).get("NodeID", "")),
    }


class ServiceTask(Container):  # type: ignore[misc]  # docker ships no types
    """A deployment's runner service, seen as the container of its one task.

    The deploy, stop and reconcile jobs follow a runner through a container's status,
    exit code, address and last lines: this gives them the task's, read through the
    manager whatever host runs the task (``docker service logs`` for its lines).
    """

    def __init__(self, client: docker.DockerClient, attrs: dict[str, Any], network: str) -> None:
        super().__init__(attrs=attrs, client=client, collection=client.containers)
        self.network = network

    @classmethod
    def of(cls, client: docker.DockerClient, service_id: str, network: str) -> ServiceTask:
        service = client.api.inspect_service(service_id)
        tasks = client.api.tasks(filters={"service": service["ID"]})
        return cls(client, task_attrs(service, newest_task(tasks), network), network)

    def reload(self) -> None:
        """Read the service and its task again; :class:`ServiceError` when the task ended
        without ever running (no node took it, its image is missing there): no container
        log could say why, Swarm's reason does."""
        service = self.client.api.inspect_service(self.id)
        task = newest_task(self.client.api.tasks(filters={"service": self.id}))
        self.attrs = task_attrs(service, task, self.network)
        status = (task or {}).get("Status") or {}
        ran = (status.get("ContainerStatus") or {}).get("ContainerID")
        if status.get("State") in _ENDED and not ran:
            raise ServiceError(
                f"the runner task {status.get('State')}: {status.get('Err') or 'no reason'}"
            )

    def start(self, *args: Any, **kwargs: Any) -> None:
        """Scale to one task: the service was made with none (``replicas=0``)."""
        try:
            self.client.services.get(self.id).scale(1)
        except APIError as exc:
            raise ServiceError(f"Swarm could not start the runner: {exc.explanation}") from exc

    def logs(self, **kwargs: Any) -> bytes:
        """The task's last lines through the manager (``tail``, stdout and stderr)."""
        chunks = self.client.api.service_logs(
            self.id,
            stdout=kwargs.get("stdout", True),
            stderr=kwargs.get("stderr", True),
            tail=kwargs.get("tail", "all"),
            is_tty=False,
        )
        return b"".join(chunks)


def service_network(settings: Settings, service: dict[str, Any]) -> str:
    """The project overlay of a runner service (its project label)."""
    labels = (service.get("Spec") or {}).get("Labels") or {}
    return project_network(settings, str(labels.get(f"{LABEL_PREFIX}{PROJECT_LABEL}", "")))


def get_service_task(
    client: docker.DockerClient, settings: Settings, id_or_name: str
) -> ServiceTask | None:
    """The runner service ``id_or_name`` as its task's container; None: no such service."""
    try:
        service = client.api.inspect_service(id_or_name)
        tasks = client.api.tasks(filters={"service": service["ID"]})
    except NotFound:
        return None
    network = service_network(settings, service)
    return ServiceTask(client, task_attrs(service, newest_task(tasks), network), network)


def create_service_task(
    client: docker.DockerClient, settings: Settings, kwargs: dict[str, Any]
) -> ServiceTask:
    """Create the service (with ``replicas=0``: its task starts with ``start()``)."""
    try:
        service_id = create_runner_service(client, kwargs)
    except APIError as exc:
        raise ServiceError(f"Swarm refused the runner service: {exc.explanation}") from exc
    network = service_network(settings, client.api.inspect_service(service_id))
    return ServiceTask.of(client, service_id, network)


def _runner_services(client: docker.DockerClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.api.services(
        filters={"label": f"{ROLE_LABEL}={RUNNER_ROLE}"}
    )
    return found


def ended_at(service: dict[str, Any], tasks: list[dict[str, Any]]) -> datetime | None:
    """When a runner service's last task ended (a service that never ran: when it was
    last changed); None while a task may still run."""
    if any((task.get("Status") or {}).get("State") not in _ENDED for task in tasks):
        return None
    times = [docker_time(str((task.get("Status") or {}).get("Timestamp", ""))) for task in tasks]
    known = [t for t in times if t is not None]
    return max(known) if known else docker_time(str(service.get("UpdatedAt", "")))


def remove_ended_services(client: docker.DockerClient, *, older_than: timedelta) -> list[str]:
    """Remove runner services whose task ended longer ago than ``older_than`` (the
    collector shipped the last lines of its json-file log by then: ``service rm``
    deletes the task's container and its log at once); their names."""
    cutoff = datetime.now(UTC) - older_than
    removed: list[str] = []
    for service in _runner_services(client):
        tasks = client.api.tasks(filters={"service": service["ID"]})
        ended = ended_at(service, tasks)
        if ended is not None and ended < cutoff:
            remove_runner_service(client, service["ID"])
            removed.append(str((service.get("Spec") or {}).get("Name", service["ID"])))
    return removed


def live_overlays(client: docker.DockerClient, settings: Settings) -> set[str]:
    """The project overlays of every runner service (the proxy must be on each)."""
    return {service_network(settings, service) for service in _runner_services(client)}
