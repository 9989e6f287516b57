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

``no-new-privileges``: a single-server runner gets it from ``security_opt``; a service's
``ContainerSpec`` says it only from API 1.46 (``Privileges.NoNewPrivileges``). So the
task's own command sets the kernel's flag (``prctl(PR_SET_NO_NEW_PRIVS)``, inherited
across ``exec`` and by every child) before it fetches and execs the step script, on any
engine; where the engine's API has the field, the spec says it too.
"""

from __future__ import annotations

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
from docker.utils import parse_bytes, version_lt

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
from devpush.units import SECOND_NS

#: The task's environment that tells it where its source is (unset before the app starts).
SOURCE_URL_ENV: Final = "DEVPUSH_SOURCE_URL"
SOURCE_TOKEN_ENV: Final = "DEVPUSH_SOURCE_TOKEN"  # noqa: S105 (a variable name, not a secret)
#: ``prctl``'s PR_SET_NO_NEW_PRIVS (linux/prctl.h).
PR_SET_NO_NEW_PRIVS: Final = 38
#: The first engine API whose swarm ``ContainerSpec`` takes ``Privileges.NoNewPrivileges``.
NO_NEW_PRIVILEGES_API: Final = "1.46"
#: The task's command (python3: the runner images have it): set no_new_privs, fetch the
#: archive and unpack it at ``/``, drop the token from the environment, exec the step
#: script (the flag holds for it and the app, as ``no-new-privileges`` on one server).
_FETCH: Final = (
    "import ctypes, os, tarfile, urllib.request as u\n"
    f"if ctypes.CDLL(None, use_errno=True).prctl({PR_SET_NO_NEW_PRIVS}, 1, 0, 0, 0) != 0:\n"
    "    raise SystemExit('devpush: cannot set no_new_privs (errno %d)' % ctypes.get_errno())\n"
    f"url, token = os.environ.pop('{SOURCE_URL_ENV}'), os.environ.pop('{SOURCE_TOKEN_ENV}')\n"
    "r = u.Request(url, headers={'Authorization': 'Bearer ' + token})\n"
    "with u.urlopen(r, timeout=60) as a:\n"
    "    tarfile.open(fileobj=a, mode='r|').extractall('/')\n"
    f"os.execve('/bin/sh', ['/bin/sh', '{SCRIPT_PATH}'], os.environ)\n"
)
#: Task states after which the task never runs again (docker/swarmkit's TaskState).
_ENDED: Final = frozenset({"complete", "failed", "shutdown", "rejected", "orphaned", "remove"})


#: The service label with the deployment's replica count (its environment's, at deploy time).
REPLICAS_LABEL: Final = f"{LABEL_PREFIX}replicas"


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
    """The task's command: no new privileges, fetch the source, drop the token, run the
    step script (one process that execs it: the flag is the script's and the app's)."""
    return ["python3", "-c", _FETCH]


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
    wanted: int = 1,
) -> dict[str, Any]:
    """Keyword arguments of ``APIClient.create_service`` for one deployment's runner.

    The task either fetches its source (``source_url`` and ``source_token``: the runner
    image and a checkout) or runs ``script`` in an image that holds the app (a pushed
    Dockerfile build). ``replicas``: 0 makes the service without starting its task (the
    deploy job scales it to ``wanted``, the environment's replica count, once it is
    recorded, as it starts a created container). Swarm spreads the tasks itself (fewest of
    the service first).
    """
    if source_url is not None and source_token is not None:
        command = fetch_and_run_command()
        env = {**environment, SOURCE_URL_ENV: source_url, SOURCE_TOKEN_ENV: source_token}
    elif script is not None:
        command, env = script_command(script), dict(environment)
    else:
        raise ValueError("a runner service needs its source's address or its script")
    labels = runner_role_labels(spec)
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
        stop_grace_period=settings.runner_stop_timeout_seconds * SECOND_NS,
    )
    limits = runner_limits(spec, settings)
    # ``no-new-privileges``: the command sets it; the spec too where the engine can
    # (``create_runner_service``).
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
        # The service's own labels (not its tasks'): the count to scale to stays readable
        # after a stop scaled it to 0.
        "labels": {**labels, REPLICAS_LABEL: str(wanted)},
        "mode": ServiceMode("replicated", replicas=replicas),
        "endpoint_spec": EndpointSpec(mode="dnsrr"),
    }


def with_no_new_privileges(task: TaskTemplate, api_version: str) -> TaskTemplate:
    """``task`` with ``Privileges.NoNewPrivileges`` in its container spec when the engine's
    API (``api_version``) has it; unchanged otherwise (the command sets the flag anyway)."""
    if version_lt(api_version, NO_NEW_PRIVILEGES_API):
        return task
    container = task["ContainerSpec"]
    container["Privileges"] = {**(container.get("Privileges") or {}), "NoNewPrivileges": True}
    return task


def create_runner_service(client: docker.DockerClient, kwargs: dict[str, Any]) -> str:
    """Create the service; its id."""
    task = with_no_new_privileges(kwargs["task_template"], client.api.api_version)
    created = client.api.create_service(**{**kwargs, "task_template": task})
    return str(created["ID"])


def _address(task: dict[str, Any], network: str) -> str | None:
    for attachment in task.get("NetworksAttachments") or []:
        if (attachment.get("Network") or {}).get("Spec", {}).get("Name") == network:
            addresses = attachment.get("Addresses") or []
            if addresses:
                return str(addresses[0]).partition("/")[0]
    return None


def wait_for_task(
    client: docker.DockerClient,
    service_id: str,
    *,
    network: str,
    timeout: float,
    skip: frozenset[str] = frozenset(),
) -> TaskPlace:
    """The running task's node and overlay IP; :class:`ServiceError` if it ends or never
    runs within ``timeout`` seconds (with Swarm's reason, e.g. no node fits).

    ``skip``: task ids that do not count (the ones a restart replaces)."""
    deadline = time.monotonic() + timeout
    reason = "no task yet"
    while time.monotonic() < deadline:
        for task in client.api.tasks(filters={"service": service_id}):
            if task.get("ID") in skip:
                continue
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


def replicas_of(service: dict[str, Any]) -> int:
    """How many tasks the service runs now (0: stopped)."""
    mode = (service.get("Spec") or {}).get("Mode") or {}
    return int((mode.get("Replicated") or {}).get("Replicas") or 0)


def with_source(env: list[str], *, source_url: str, source_token: str) -> list[str]:
    """A task's environment (``NAME=value`` items) with another source URL and token."""
    ours = (f"{SOURCE_URL_ENV}=", f"{SOURCE_TOKEN_ENV}=")
    kept = [item for item in env if not item.startswith(ours)]
    return [*kept, f"{SOURCE_URL_ENV}={source_url}", f"{SOURCE_TOKEN_ENV}={source_token}"]


def fetches_source(service: dict[str, Any]) -> bool:
    """Whether the service's tasks fetch their source (else their image holds the app)."""
    container = ((service.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}
    return any(str(item).startswith(f"{SOURCE_URL_ENV}=") for item in container.get("Env") or [])


def restart_runner_service(
    client: docker.DockerClient,
    service_id: str,
    *,
    network: str,
    timeout: float,
    source_url: str | None = None,
    source_token: str | None = None,
    script: str | None = None,
) -> TaskPlace:
    """New tasks for the service (as many as it runs): a service update, so Swarm replaces
    each task. Tasks that fetch their source get a fresh token (the old one answered
    once); tasks whose image holds the app (a build in the registry) run ``script``
    instead of their first one. The new task's place once it runs; :class:`ServiceError`
    if the service is stopped or the new task never runs."""
    service = client.api.inspect_service(service_id)
    if replicas_of(service) < 1:
        raise ServiceError("the runner service is stopped")
    template = service["Spec"]["TaskTemplate"]
    container = template["ContainerSpec"]
    if source_url is not None and source_token is not None:
        container["Env"] = with_source(
            list(container.get("Env") or []), source_url=source_url, source_token=source_token
        )
    elif script is not None:
        container["Command"] = script_command(script)
        container.pop("Args", None)
    else:
        raise ValueError("a restart needs the source's address or a script")
    old = frozenset(str(task["ID"]) for task in client.api.tasks(filters={"service": service_id}))
    try:
        client.api.update_service(
            service["ID"],
            version=service["Version"]["Index"],
            task_template=template,
            fetch_current_spec=True,
        )
    except APIError as exc:
        raise ServiceError(f"Swarm refused to restart the runner: {exc.explanation}") from exc
    return wait_for_task(client, service["ID"], network=network, timeout=timeout, skip=old)


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


def wanted_replicas(service: dict[str, Any]) -> int:
    """How many tasks the deployment runs (its service's replicas label; 1 before it)."""
    labels = (service.get("Spec") or {}).get("Labels") or {}
    text = str(labels.get(REPLICAS_LABEL, "1"))
    return max(1, int(text)) if text.isdigit() else 1


def _running(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [task for task in tasks if (task.get("Status") or {}).get("State") == "running"]


def _ended(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [task for task in tasks if (task.get("Status") or {}).get("State") in _ENDED]


def replica_attrs(
    service: dict[str, Any], tasks: list[dict[str, Any]], network: str, *, every: bool
) -> dict[str, Any]:
    """A container's ``attrs`` for a service of one or more tasks (:func:`task_attrs` of the
    task that speaks for them).

    ``every`` (the deploy, until ready): running only once every wanted task runs with an
    address, exited as soon as one ended (with its exit code), else created. Otherwise
    (once running: the reconcile, the health watch, the proxy table): running while any
    task runs, so a replica whose host died fails nothing while another answers.
    """
    running = [task for task in _running(tasks) if _address(task, network)]
    ended = _ended(tasks)
    if every:
        if ended:
            return task_attrs(service, newest_task(ended), network)
        if running and len(running) >= wanted_replicas(service):
            return task_attrs(service, newest_task(running), network)
        attrs = task_attrs(service, newest_task(tasks), network)
        attrs["State"]["Status"] = "created"
        return attrs
    return task_attrs(service, newest_task(running) or newest_task(tasks), network)


class ServiceTask(Container):  # type: ignore[misc]  # docker ships no types
    """A deployment's runner service, seen as the container of its task(s).

    The deploy, stop and reconcile jobs follow a runner through a container's status,
    exit code, address and last lines: this gives them the task's, read through the
    manager whatever host runs the task (``docker service logs`` for its lines). With
    several replicas, :func:`replica_attrs` says which task speaks for the service
    (``every``: the deploy's view), and :meth:`replicas` gives each running task.
    """

    def __init__(
        self,
        client: docker.DockerClient,
        attrs: dict[str, Any],
        network: str,
        *,
        tasks: list[dict[str, Any]] | None = None,
        every: bool = False,
    ) -> None:
        super().__init__(attrs=attrs, client=client, collection=client.containers)
        self.network = network
        self.tasks = tasks or []
        self.every = every

    @classmethod
    def of(
        cls, client: docker.DockerClient, service_id: str, network: str, *, every: bool = False
    ) -> ServiceTask:
        service = client.api.inspect_service(service_id)
        tasks = client.api.tasks(filters={"service": service["ID"]})
        attrs = replica_attrs(service, tasks, network, every=every)
        return cls(client, attrs, network, tasks=tasks, every=every)

    def reload(self) -> None:
        """Read the service and its tasks again; :class:`ServiceError` when a task ended
        without ever running (no node took it, its image is missing there): no container
        log could say why, Swarm's reason does."""
        service = self.client.api.inspect_service(self.id)
        self.tasks = self.client.api.tasks(filters={"service": self.id})
        self.attrs = replica_attrs(service, self.tasks, self.network, every=self.every)
        for task in _ended(self.tasks):
            status = task.get("Status") or {}
            if not (status.get("ContainerStatus") or {}).get("ContainerID"):
                raise ServiceError(
                    f"the runner task {status.get('State')}: {status.get('Err') or 'no reason'}"
                )

    def replicas(self) -> list[Container]:
        """Each running task with an address, as a container of its own (the ready check
        asks every one)."""
        service = {"ID": self.id, "Spec": self._spec()}
        return [
            Container(
                attrs=task_attrs(service, task, self.network),
                client=self.client,
                collection=self.client.containers,
            )
            for task in _running(self.tasks)
            if _address(task, self.network)
        ]

    def nodes(self) -> set[str]:
        """The nodes its running tasks run on."""
        return {str(task.get("NodeID", "")) for task in _running(self.tasks)}

    def _spec(self) -> dict[str, Any]:
        """Enough of the service's spec for :func:`task_attrs`, from this one's attrs."""
        return {
            "Name": self.name,
            "TaskTemplate": {
                "ContainerSpec": {
                    "Env": self.attrs["Config"]["Env"],
                    "Labels": self.attrs["Config"]["Labels"],
                    "Image": self.attrs["Config"]["Image"],
                }
            },
        }

    def start(self, *args: Any, **kwargs: Any) -> None:
        """Scale to the wanted tasks: the service was made with none (``replicas=0``)."""
        try:
            service = self.client.services.get(self.id)
            service.scale(wanted_replicas(service.attrs))
        except APIError as exc:
            raise ServiceError(f"Swarm could not start the runner: {exc.explanation}") from exc

    def logs(self, **kwargs: Any) -> bytes:
        """The tasks' last lines through the manager (``tail``, stdout and stderr)."""
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
    """The runner service ``id_or_name`` as its tasks' container; None: no such service."""
    try:
        service = client.api.inspect_service(id_or_name)
        tasks = client.api.tasks(filters={"service": service["ID"]})
    except NotFound:
        return None
    network = service_network(settings, service)
    attrs = replica_attrs(service, tasks, network, every=False)
    return ServiceTask(client, attrs, network, tasks=tasks)


def create_service_task(
    client: docker.DockerClient, settings: Settings, kwargs: dict[str, Any]
) -> ServiceTask:
    """Create the service (with ``replicas=0``: its tasks start with ``start()``); the
    deploy's view of it (ready once every task runs)."""
    try:
        service_id = create_runner_service(client, kwargs)
    except APIError as exc:
        raise ServiceError(f"Swarm refused the runner service: {exc.explanation}") from exc
    network = service_network(settings, client.api.inspect_service(service_id))
    return ServiceTask.of(client, service_id, network, every=True)


def live_addresses(
    services: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    nodes: list[dict[str, Any]],
    settings: Settings,
) -> dict[str, list[str]]:
    """Each runner service's running tasks' IPs on its overlay, by service id and name.

    A task whose node is not ``ready`` (its host went down: Swarm may still say the task
    runs, only no longer wants it to) is left out while another task of the service runs
    on a ready node; a service with no such task keeps its last ones, so a lone runner's
    URL stays where it was (as with one task before replicas) until it is moved. Sorted,
    so an unchanged set writes no change.
    """
    ready = {
        str(node.get("ID")) for node in nodes if (node.get("Status") or {}).get("State") == "ready"
    }
    by_id = {str(service["ID"]): service for service in services}
    healthy: dict[str, list[str]] = {}
    stale: dict[str, list[str]] = {}
    for task in _running(tasks):
        service = by_id.get(str(task.get("ServiceID")))
        address = service and _address(task, service_network(settings, service))
        if not address:
            continue
        live = str(task.get("NodeID")) in ready and task.get("DesiredState") == "running"
        (healthy if live else stale).setdefault(str(task["ServiceID"]), []).append(address)
    named: dict[str, list[str]] = {}
    for service_id in healthy.keys() | stale.keys():
        addresses = sorted(
            healthy.get(service_id) or stale[service_id],
            key=lambda ip: tuple(int(part) for part in ip.split(".")),
        )
        named[service_id] = addresses
        named[str((by_id[service_id].get("Spec") or {}).get("Name", ""))] = addresses
    return named


def service_port(service: dict[str, Any]) -> int | None:
    """The app port a runner service's tasks listen on (their ``PORT``)."""
    spec = ((service.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}
    for item in spec.get("Env") or []:
        name, _, value = str(item).partition("=")
        if name == "PORT" and value.isdigit():
            return int(value)
    return None


def runner_upstreams(client: docker.DockerClient, settings: Settings) -> dict[str, tuple[str, int]]:
    """Where every runner service answers, by service id and name: its live tasks' IPs
    (space-separated, the proxy table's ``address``) and its port. Three questions to
    the manager whatever the number of services, so a refresh stays cheap when a node
    goes down."""
    services = _runner_services(client)
    tasks: list[dict[str, Any]] = client.api.tasks()
    nodes: list[dict[str, Any]] = client.api.nodes()
    ports = {str(service["ID"]): service_port(service) for service in services}
    for service in services:
        ports[str((service.get("Spec") or {}).get("Name", ""))] = ports[str(service["ID"])]
    upstreams: dict[str, tuple[str, int]] = {}
    for key, addresses in live_addresses(services, tasks, nodes, settings).items():
        port = ports.get(key)
        if port is not None:
            upstreams[key] = (" ".join(addresses), port)
    return upstreams


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
