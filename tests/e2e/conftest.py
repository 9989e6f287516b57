"""End-to-end fixtures: labelled runner containers on the real Docker engine, and deploy
stacks (``make_stack``, ``stack``) with their worker process (``worker``).

A runner here is what the deploy worker starts: the four devpush labels and the
json-file log options from Settings. Every container is removed after its test.
The stacks' helpers, for test modules to import, are in tests/e2e/support.py.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container
from pydantic import SecretStr

from devpush.core.config import Settings
from devpush.core.crypto import encrypt_mapping, fernet_for
from devpush.core.db import create_db_engine, session_factory
from devpush.core.labels import runner_labels
from devpush.core.migrate import upgrade_to_head
from devpush.models import Team
from devpush.services import proxy_config
from devpush.services.deployments import ensure_production_environment
from devpush.workers.tasks.context import WorkerContext
from devpush_dev import alloy, processes
from devpush_dev.caddy import Caddy, caddy_binary, loopback_settings, start_caddy
from devpush_dev.example import RUNNER_IMAGE, example_project, example_repo
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import Resolver, spawn_resolver, wait_answering
from devpush_dev.runners import Runners, remove_project_leftovers
from devpush_dev.socket_proxy import WORKER_DOOR, SocketProxy, start_socket_proxy
from devpush_dev.web_app import start_worker
from tests.e2e.support import DOMAIN_SETTINGS, PROXY_SETTINGS, Stack, settings_env


@dataclass(frozen=True)
class LogLine:
    stream: str
    time: str
    log: str


def alloy_log_path(container_id: str) -> Path:
    """``__path__`` exactly as config.alloy builds it from the container ID."""
    text = alloy.CONFIG.read_text()
    match = re.search(r'target_label\s*=\s*"__path__"\s*\n\s*replacement\s*=\s*"([^"]+)"', text)
    assert match, "config.alloy has no __path__ rule"
    return Path(match.group(1).replace("$1", container_id))


def json_log_files(container: Container) -> list[Path]:
    """The container's json log files, oldest first (``-json.log.N`` ... ``-json.log``)."""
    current = Path(container.attrs["LogPath"])
    rotated = sorted(
        current.parent.glob(f"{current.name}.*"), key=lambda p: int(p.suffix[1:]), reverse=True
    )
    return [*rotated, current]


def read_json_logs(container: Container) -> list[LogLine]:
    lines = []
    for path in json_log_files(container):
        for raw in path.read_text().splitlines():
            record = json.loads(raw)
            lines.append(LogLine(stream=record["stream"], time=record["time"], log=record["log"]))
    return lines


def wait_for_lines(container: Container, count: int, *, timeout: float = 15.0) -> list[LogLine]:
    """Docker copies output to the file asynchronously: wait until ``count`` lines landed."""
    deadline = time.monotonic() + timeout
    while True:
        lines = read_json_logs(container)
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def numbered_lines_script(count: int, *, pad: int = 0) -> list[str]:
    """Shell that prints ``out <i>`` on stdout and ``err <i>`` on stderr, i = 1..count."""
    filler = "x" * pad
    return [
        "sh",
        "-c",
        f'for i in $(seq 1 {count}); do echo "out $i {filler}"; echo "err $i {filler}" >&2; done',
    ]


RunRunner = Callable[..., Container]


@pytest.fixture
def run_runner(docker_client: docker.DockerClient) -> Iterator[RunRunner]:
    """Start labelled busybox runners; each is removed (even if running) after the test."""
    runners = Runners(docker_client)

    def run(
        command: Sequence[str],
        *,
        settings: Settings | None = None,
        wait: bool = True,
        deployment_id: str | None = None,
    ) -> Container:
        settings = settings or Settings()
        return runners.run(
            command,
            labels=runner_labels(
                project_id="p-e2e",
                environment_id="e-e2e",
                branch="feature/logs",
                deployment_id=deployment_id or f"d-{uuid.uuid4().hex[:12]}",
            ),
            # The deploy worker's log options: json-file with rotation from Settings.
            log_config=docker.types.LogConfig(
                type="json-file",
                config={
                    "max-size": settings.runner_log_max_size,
                    "max-file": str(settings.runner_log_max_file),
                },
            ),
            wait=60 if wait else None,
        )

    try:
        yield run
    finally:
        runners.remove_all()


class JsonLogs:
    """The helpers above, for test modules (conftest cannot be imported under importlib)."""

    alloy_log_path = staticmethod(alloy_log_path)
    files = staticmethod(json_log_files)
    read = staticmethod(read_json_logs)
    wait_for_lines = staticmethod(wait_for_lines)
    numbered_lines_script = staticmethod(numbered_lines_script)


@pytest.fixture
def json_logs() -> type[JsonLogs]:
    return JsonLogs


@pytest.fixture(scope="module")
def caddy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Caddy]:
    """The pinned Caddy on free loopback ports, asking the two route resolvers that a test
    starts on ``settings.proxy_resolver_addrs`` for its database (``start_resolver``).

    One per module: its config depends only on these settings, and each test's resolvers
    answer for that test's database. A module that changes or kills it has its own
    (tests/e2e/test_routing.py)."""
    proxy = start_caddy(settings=loopback_settings(), state_dir=tmp_path_factory.mktemp("caddy"))
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def worker_door(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], SocketProxy]]:
    """The worker's socket-proxy door to a Docker socket, one per socket for the module:
    its rules come from the env file alone, so the workers of a module's tests share it."""
    doors: dict[str, SocketProxy] = {}

    def door(socket_path: str) -> SocketProxy:
        if socket_path not in doors:
            doors[socket_path] = start_socket_proxy(
                env_file=WORKER_DOOR,
                port=free_port(),
                state_dir=tmp_path_factory.mktemp("worker-door"),
                socket_path=socket_path,
            )
        return doors[socket_path]

    yield door
    processes.stop_all([proxy.child for proxy in doors.values()])


@pytest.fixture
def resolvers_to_await() -> list[Resolver]:
    """The route resolvers ``make_stack`` started for a test that starts a worker next: the
    worker's start waits until they answer, so their imports and the worker's overlap."""
    return []


@pytest.fixture
def docker_engine(
    docker_client: docker.DockerClient, runner_python_image: str
) -> docker.DockerClient:
    assert runner_python_image == RUNNER_IMAGE
    return docker_client


@pytest.fixture
def make_stack(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    docker_engine: docker.DockerClient,
    caddy: Caddy,
    resolvers_to_await: list[Resolver],
) -> Iterator[Callable[..., Stack]]:
    network = f"devpush_runner_e2e_{uuid.uuid4().hex[:8]}"
    stacks: list[Stack] = []
    resolvers: list[Resolver] = []

    def make(db_url: str, *, build_command: str = "python3 build.py", **more: object) -> Stack:
        """A stack on ``db_url``; ``more``: other Settings (the domain tests' DNS server)."""
        upgrade_to_head(db_url)
        # Caddy asks its two resolvers: the newest stack's database has the routes. Both
        # start at once and import while the project is made (awaited at the end).
        processes.stop_all([old.child for old in resolvers])
        resolvers[:] = [
            spawn_resolver(
                database_url=db_url,
                address=address,
                not_found_port=caddy.settings.proxy_not_found_port,
                state_dir=tmp_path / f"resolver-{len(stacks)}-{n}",
            )
            for n, address in enumerate(caddy.settings.proxy_resolver_addrs)
        ]
        settings = Settings(
            database_url=db_url,
            queue_url=f"sqlite:///{tmp_path / 'queue.sqlite3'}",
            runner_network=network,
            runner_ready_timeout_seconds=60,
            runner_stop_timeout_seconds=1,
            runner_memory="256m",
            runner_cpus=0.5,
            secret_key=SecretStr("e2e-secret-key"),
            # The worker writes the routes this test's Caddy asks its resolver for.
            **{name: getattr(caddy.settings, name) for name in PROXY_SETTINGS},
            **more,
        )
        repo = example_repo(tmp_path / f"hello-{len(stacks)}")
        sessions = session_factory(create_db_engine(db_url))
        fernet = fernet_for(settings.secret_key.get_secret_value())
        with sessions() as session:
            project = example_project(
                repo, Team(name="E2E", slug=f"e2e-{uuid.uuid4().hex[:6]}"), "hello"
            )
            project.build_command = build_command
            project.env_vars_encrypted = encrypt_mapping(fernet, {"GREETING": "hi", "SHARED": "p"})
            session.add(project)
            production = ensure_production_environment(session, project=project)
            production.env_vars_encrypted = encrypt_mapping(fernet, {"SHARED": "env"})
            session.commit()
            project_id = project.id
        ctx = WorkerContext(settings=settings, sessions=sessions, docker=docker_engine)
        if "worker" in request.fixturenames:
            # The test starts a worker next: its start waits, while the worker imports.
            resolvers_to_await[:] = resolvers
        else:
            wait_answering(resolvers)
        stacks.append(Stack(settings, sessions, ctx, project_id, repo, resolvers))
        return stacks[-1]

    yield make
    try:
        for stack in stacks:
            remove_project_leftovers(docker_engine, stack.project_id)
            stack.sessions.kw["bind"].dispose()
        # The shared network and the projects' own (their names start with it): whatever is
        # still attached goes first (a runner the worker made after the sweep above).
        for found in docker_engine.networks.list(names=[network]):
            found.reload()
            for container_id in found.attrs.get("Containers") or {}:
                with contextlib.suppress(docker.errors.NotFound):
                    docker_engine.containers.get(container_id).remove(force=True)
            with contextlib.suppress(docker.errors.NotFound):
                found.remove()
    finally:
        processes.stop_all([resolver.child for resolver in resolvers])


@pytest.fixture(name="stack")
def fixture_stack(make_stack: Callable[..., Stack], sqlite_url: str) -> Stack:
    """A stack on SQLite, its project as ``make_stack`` makes it by default."""
    return make_stack(sqlite_url)


@pytest.fixture
def worker(
    tmp_path: Path,
    worker_door: Callable[[str], SocketProxy],
    resolvers_to_await: list[Resolver],
) -> Iterator[Callable[..., processes.Child]]:
    """A real consumer process reaching Docker through the worker's socket-proxy door
    (``extra_env``: more of its settings, as ``DEVPUSH_*`` variables), the module's
    (``worker_door`` above). Once it is started, the resolvers ``make_stack`` left
    starting answer (the two imports overlap)."""
    started: list[processes.Child] = []

    def start(settings: Settings, extra_env: dict[str, str] | None = None) -> processes.Child:
        proxy = worker_door(settings.docker_host.removeprefix("unix://"))
        env = {
            "DEVPUSH_DATABASE_URL": settings.database_url,
            "DEVPUSH_QUEUE_URL": settings.queue_url,
            "DEVPUSH_RUNNER_NETWORK": settings.runner_network,
            "DEVPUSH_RUNNER_MEMORY": settings.runner_memory,
            "DEVPUSH_RUNNER_CPUS": str(settings.runner_cpus),
            "DEVPUSH_RUNNER_READY_TIMEOUT_SECONDS": "60",
            "DEVPUSH_RUNNER_STOP_TIMEOUT_SECONDS": "1",
            "DEVPUSH_SECRET_KEY": settings.secret_key.get_secret_value(),
            "DEVPUSH_DOCKER_HOST": proxy.url,
            # The proxy's config the worker loads (tests/e2e/test_routing.py runs a Caddy)
            # and what its domain checks ask (tests/e2e/test_domains.py).
            **settings_env(settings, (*PROXY_SETTINGS, *DOMAIN_SETTINGS)),
            # The metrics sampler's rounds (tests/e2e/test_metrics.py samples every second).
            "DEVPUSH_METRICS_INTERVAL_SECONDS": str(settings.metrics_interval_seconds),
            **(extra_env or {}),
        }
        child = start_worker(log_path=tmp_path / "worker.log", env=env)
        started.append(child)
        wait_answering(resolvers_to_await)
        resolvers_to_await.clear()
        return child

    yield start
    processes.stop_all(started)


@pytest.fixture
def probing() -> Iterator[Settings]:
    """A Caddy with the probe server only; the worker's settings that ask it (the probe's
    and the health checks' tests)."""
    # A short directory: a unix socket's path has at most 107 bytes.
    state = Path(tempfile.mkdtemp(prefix="probe-", dir="/tmp"))
    settings = Settings(proxy_admin_url=f"unix://{state}/admin.sock", runner_address="proxy")
    socket_path = proxy_config.probe_socket(settings)
    assert socket_path == f"{state}/probe.sock"
    admin = f"127.0.0.1:{free_port()}"
    config = {
        "admin": {"listen": admin},
        "apps": {"http": {"servers": {"probe": proxy_config.probe_server(socket_path)}}},
    }
    (state / "caddy.json").write_text(json.dumps(config))
    child = processes.start_ready(
        "caddy",
        [caddy_binary(), "run", "--config", str(state / "caddy.json")],
        state_dir=state,
        log_name="caddy.log",
        ready_url=f"http://{admin}/config/",
        timeout=15,
        env={"HOME": str(state), "XDG_DATA_HOME": str(state), "XDG_CONFIG_HOME": str(state)},
    )
    try:
        yield settings
    finally:
        child.stop()
        shutil.rmtree(state, ignore_errors=True)
