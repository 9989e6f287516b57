"""Deploying examples/hello-python from a real git repository into real runner containers.

One test goes the whole way: the service enqueues on a SQLite huey queue, a
``python -m devpush.workers`` process consumes it and reaches Docker through the
worker's socket-proxy door. The others call the deploy job directly, on SQLite
and PostgreSQL. Every container and network made here is removed afterwards.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import docker
import httpx
import pytest
from docker.models.containers import Container
from fastapi.testclient import TestClient
from huey import MemoryHuey
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.core.crypto import encrypt_mapping, fernet_for
from devpush.core.db import create_db_engine, session_factory
from devpush.core.labels import RUNNER_LABELS, RUNNER_LOG_LABELS_OPTION
from devpush.core.migrate import upgrade_to_head
from devpush.models import (
    Deployment,
    DeploymentStatus,
    DeployStep,
    Project,
    Team,
    TeamMember,
    TeamRole,
)
from devpush.services.deployments import (
    cancel_deployment,
    create_deployment,
    ensure_production_environment,
    redeploy,
)
from devpush.services.failure import FAILURE_LINES
from devpush.services.networks import project_network
from devpush.services.tokens import create_token
from devpush.services.users import create_user
from devpush.workers.queue import DeployQueue, huey_from_url
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.deploy import run_deploy
from devpush.workers.tasks.reconcile import ABANDONED_ERROR, abandoned_after, run_reconcile
from devpush.workers.tasks.stop import run_cleanup
from devpush_dev import processes
from devpush_dev.caddy import Caddy
from devpush_dev.example import RUNNER_IMAGE, example_project, example_repo
from devpush_dev.resolver_process import Resolver, spawn_resolver, wait_answering
from devpush_dev.runners import remove_project_leftovers
from devpush_dev.socket_proxy import SocketProxy
from devpush_dev.web_app import start_worker
from tests.fixtures.web import PASSWORD, log_in
from tests.utils.git import git

pytestmark = pytest.mark.docker


#: What the worker shares with its Caddy: the config it loads (proxy_config.build_config)
#: and the proxy-table entries it writes. A stack takes them from the test's Caddy.
PROXY_SETTINGS: Final = (
    "proxy_admin_url",
    "public_scheme",
    "public_port",
    "proxy_resolver_addr",
    "proxy_not_found_port",
    "proxy_redirect_port",
    "proxy_http_port",
    "proxy_tls_permission_url",
    "acme_ca_url",
    "acme_ca_root",
    "acme_email",
)
#: What the worker's domain checks read.
DOMAIN_SETTINGS: Final = ("server_addresses", "domain_dns_resolver")


def settings_env(settings: Settings, names: tuple[str, ...]) -> dict[str, str]:
    """``names`` of ``settings`` as the DEVPUSH_ variables a child process reads (unset: None)."""
    return {
        f"DEVPUSH_{name.upper()}": str(value)
        for name in names
        if (value := getattr(settings, name)) is not None
    }


@dataclass
class Stack:
    """A database, settings and a project deploying a git repo made from the example."""

    settings: Settings
    sessions: sessionmaker[Session]
    ctx: WorkerContext
    project_id: str
    repo: Path
    #: The route resolvers Caddy asks now (a test may kill one and put a new one in its place).
    resolvers: list[Resolver]

    def load(self, session: Session, deployment_id: str) -> Deployment:
        deployment = session.get(Deployment, deployment_id, populate_existing=True)
        assert deployment is not None
        return deployment

    def wait_for(
        self, deployment_id: str, statuses: set[DeploymentStatus], *, timeout: float = 90
    ) -> Deployment:
        deadline = time.monotonic() + timeout
        while True:
            with self.sessions() as session:
                deployment = self.load(session, deployment_id)
            if deployment.status in statuses or time.monotonic() > deadline:
                assert deployment.status in statuses, (deployment.status, deployment.error)
                return deployment
            time.sleep(0.3)

    def container(self, deployment: Deployment) -> Container:
        assert deployment.container_id, "the worker recorded no container"
        return self.ctx.docker.containers.get(deployment.container_id)

    def deploy(self, queue: DeployQueue) -> str:
        """A deployment of the project's default branch, enqueued on ``queue``: its id."""
        with self.sessions() as session:
            project = session.get(Project, self.project_id)
            assert project is not None
            return create_deployment(
                session, project=project, branch=None, created_by=None, queue=queue
            ).id

    def update_project(self, **columns: object) -> None:
        """Sets the project's ``columns``: the next deployment reads them."""
        with self.sessions() as session:
            project = session.get(Project, self.project_id)
            assert project is not None
            for name, value in columns.items():
                setattr(project, name, value)
            session.commit()

    def add_owner(self, email: str) -> str:
        """A user ``email`` owning the project's team (password ``PASSWORD``): an API token."""
        with self.sessions() as session:
            user = create_user(session, email=email, password=PASSWORD)
            project = session.get(Project, self.project_id)
            assert project is not None
            session.add(TeamMember(team_id=project.team_id, user=user, role=TeamRole.OWNER))
            _, token = create_token(session, user=user, name="e2e")
            session.commit()
        return token

    def commit_build_line(self, line: str, message: str) -> None:
        """A new commit whose build also prints ``line``."""
        build = self.repo / "build.py"
        build.write_text(build.read_text() + f'print("{line}")\n')
        git(self.repo, "commit", "-q", "-am", message)

    def redeploy_running(
        self, deployment_id: str, queue: DeployQueue, worker: processes.Child
    ) -> Deployment:
        """Redeploy ``deployment_id``'s environment; the new deployment once it runs."""
        with self.sessions() as session:
            new_id = redeploy(
                session, deployment=self.load(session, deployment_id), created_by=None, queue=queue
            ).id
        new = self.wait_for(new_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
        assert new.status is DeploymentStatus.RUNNING, (new.error, worker.log_tail())
        return new


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


def memory_queue() -> DeployQueue:
    return DeployQueue(MemoryHuey(immediate=False))


def queue_deployment(stack: Stack, **kwargs: object) -> str:
    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        return create_deployment(
            session, project=project, branch=None, created_by=None, queue=memory_queue(), **kwargs
        ).id


def shown_failure(stack: Stack, client: TestClient, deployment: Deployment) -> tuple[str, dict]:
    """The deployment page's "Why it failed" block and the API's ``failure``, as a member sees them.

    The web client's log store is down (tests/fixtures/web.py): the record comes from the row.
    """
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    token = stack.add_owner(email)
    log_in(client, email)
    page = client.get(f"/projects/hello/deployments/{deployment.id}")
    assert page.status_code == 200, page.text
    start = page.text.index('<div id="deployment-failure"')
    block = page.text[start : page.text.index("</div>", start)]
    api = client.get(
        f"/api/v1/deployments/{deployment.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 200, api.text
    return block, api.json()["failure"]


def page_lines(block: str) -> list[str]:
    return re.findall(r'<span class="failure-line">(.*?)</span>(?=\n|</pre>)', block)


def app_url(stack: Stack, deployment: Deployment) -> str:
    """The runner's app on its IP on its project's network (the host routes to it on Linux)."""
    networks = stack.container(deployment).attrs["NetworkSettings"]["Networks"]
    own = project_network(stack.settings, deployment.project_id)
    return f"http://{networks[own]['IPAddress']}:8000/"


def logs_of(container: Container) -> str:
    return container.logs().decode(errors="replace")


def wait_exited(container: Container, *, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    container.reload()
    while container.status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        container.reload()
    return container.status


def hello(deployment: Deployment, greeting: str = "Hello") -> str:
    """What the hello-python example answers when ``deployment`` serves it."""
    assert deployment.commit_sha is not None
    return f"{greeting} from devpush! (branch=main commit={deployment.commit_sha[:12]})\n"


def first_running(
    stack: Stack, start_worker: Callable[..., processes.Child]
) -> tuple[processes.Child, DeployQueue, Deployment]:
    """A worker process for ``stack``, its queue, and the project's first deployment, running."""
    child = start_worker(stack.settings)
    queue = DeployQueue(huey_from_url(stack.settings.queue_url))
    first_id = stack.deploy(queue)
    first = stack.wait_for(first_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
    assert first.status is DeploymentStatus.RUNNING, (first.error, child.log_tail())
    return child, queue, first


@pytest.fixture
def worker(
    tmp_path: Path,
    worker_door: Callable[[str], SocketProxy],
    resolvers_to_await: list[Resolver],
) -> Iterator[Callable[..., processes.Child]]:
    """A real consumer process reaching Docker through the worker's socket-proxy door
    (``extra_env``: more of its settings, as ``DEVPUSH_*`` variables), the module's
    (conftest's ``worker_door``). Once it is started, the resolvers ``make_stack`` left
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


def test_deploy_redeploy_and_cancel_through_a_worker_process(
    stack: Stack, worker: Callable[..., processes.Child]
) -> None:
    child = worker(stack.settings)
    queue = DeployQueue(huey_from_url(stack.settings.queue_url))

    first_id = stack.deploy(queue)
    try:
        first = stack.wait_for(first_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
    finally:
        assert child.running(), child.log_tail()
    assert first.status is DeploymentStatus.RUNNING, (first.error, child.log_tail())
    assert first.commit_sha == git(stack.repo, "rev-parse", "HEAD")
    assert first.commit_message == "Hello devpush"

    # The app answers on the runner network, built by the build step.
    answer = httpx.get(app_url(stack, first), timeout=5).text
    assert answer == hello(first)

    container = stack.container(first)
    attrs = container.attrs
    assert {k: attrs["Config"]["Labels"][k] for k in RUNNER_LABELS} == {
        "devpush.project_id": first.project_id,
        "devpush.environment_id": first.environment_id,
        "devpush.branch": "main",
        "devpush.deployment_id": first.id,
    }
    assert attrs["Config"]["Labels"]["devpush.role"] == "runner"
    assert attrs["HostConfig"]["LogConfig"] == {
        "Type": "json-file",
        "Config": {"max-file": "5", "max-size": "10m", "labels": RUNNER_LOG_LABELS_OPTION},
    }
    assert attrs["HostConfig"]["Memory"] == 256 * 1024 * 1024
    assert attrs["HostConfig"]["NanoCpus"] == 500_000_000
    assert attrs["HostConfig"]["Init"] is True
    # No host port: only the proxy and the worker reach the app, on its project's network
    # (docs/network.md), and it is on no other.
    assert not attrs["HostConfig"]["PortBindings"]
    assert first.host_port is None
    own = project_network(stack.settings, stack.project_id)
    assert list(attrs["NetworkSettings"]["Networks"]) == [own]
    env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
    assert (env["GREETING"], env["SHARED"], env["PORT"]) == ("hi", "env", "8000")

    story = logs_of(container).splitlines()
    assert story[0] == f"==> Deploying branch main at {first.commit_sha[:12]}: Hello devpush"
    assert "==> Build: python3 build.py" in story
    assert "Build finished" in story
    assert "==> Pre-deploy: skipped (no command)" in story
    assert "==> Start: python3 app.py" in story
    assert "Listening on port 8000" in story

    # A new commit, redeployed: the new one runs, the old one is superseded and stopped.
    stack.commit_build_line("second build", "Second build")
    second = stack.redeploy_running(first_id, queue, child)
    second_id = second.id
    assert second.commit_message == "Second build"
    assert "second build" in logs_of(stack.container(second))
    first = stack.wait_for(first_id, {DeploymentStatus.SUPERSEDED})
    # Stopped, and kept for its last log lines.
    assert wait_exited(stack.container(first)) == "exited"
    assert httpx.get(app_url(stack, second), timeout=5).status_code == 200

    # Cancel the running deployment: the worker process stops its container.
    with stack.sessions() as session:
        cancel_deployment(session, deployment=stack.load(session, second_id), queue=queue)
    assert wait_exited(stack.container(second)) == "exited", child.log_tail()
    assert stack.wait_for(second_id, {DeploymentStatus.STOPPED}).finished_at is not None


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


def test_failing_build_ends_failed_with_its_code_and_keeps_its_container(
    make_stack: Callable[..., Stack], db_url: str, client: TestClient
) -> None:
    stack = make_stack(
        db_url, build_command='for i in $(seq 1 80); do echo "compiling $i"; done; exit 3'
    )
    deployment_id = queue_deployment(stack)

    run_deploy(deployment_id, ctx=stack.ctx)

    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.exit_code == 3
    assert deployment.error == "Build exited with code 3"
    assert deployment.finished_at is not None
    container = stack.container(deployment)
    assert container.status == "exited"
    lines = logs_of(container).splitlines()
    assert lines[-2:] == ["compiling 80", "==> Build failed with exit code 3"]
    assert "==> Start: python3 app.py" not in lines

    # The failure record: the build's last 50 lines exactly, kept on the row.
    expected = [f"compiling {i}" for i in range(31, 81)]
    assert len(expected) == FAILURE_LINES
    assert (deployment.failure_step, deployment.failure_lines) == (DeployStep.BUILD, expected)
    block, api = shown_failure(stack, client, deployment)
    assert "<dt>Step</dt><dd>Build</dd>" in block
    assert "<dt>Exit code</dt><dd><code>3</code></dd>" in block
    assert page_lines(block) == expected
    assert api == {"step": "build", "exit_code": 3, "lines": expected}

    # The cleanup job removes it once the grace period has passed (here: at once).
    ctx = WorkerContext(
        settings=stack.settings.model_copy(update={"runner_cleanup_after_seconds": 0}),
        sessions=stack.sessions,
        docker=stack.ctx.docker,
    )
    assert container.name in run_cleanup(ctx=ctx)
    with pytest.raises(docker.errors.NotFound):
        container.reload()


def test_cancel_during_build_stops_the_runner(
    make_stack: Callable[..., Stack], db_url: str
) -> None:
    stack = make_stack(db_url, build_command="echo building; sleep 60")
    deployment_id = queue_deployment(stack)
    job = threading.Thread(target=run_deploy, args=(deployment_id,), kwargs={"ctx": stack.ctx})
    job.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            with stack.sessions() as session:
                deployment = stack.load(session, deployment_id)
            if deployment.container_id and "building" in logs_of(stack.container(deployment)):
                break
            assert time.monotonic() < deadline, "the build never started"
            time.sleep(0.2)
        assert deployment.status is DeploymentStatus.BUILDING
        with stack.sessions() as session:
            cancel_deployment(
                session, deployment=stack.load(session, deployment_id), queue=memory_queue()
            )
    finally:
        job.join(timeout=30)
    assert not job.is_alive()
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.STOPPED}, timeout=1)
    container = stack.container(deployment)
    assert container.status == "exited"
    assert "==> Start:" not in logs_of(container)


def test_unknown_branch_fails_with_the_git_error(
    make_stack: Callable[..., Stack], db_url: str
) -> None:
    stack = make_stack(db_url)
    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        deployment_id = create_deployment(
            session, project=project, branch="nope", created_by=None, queue=memory_queue()
        ).id

    run_deploy(deployment_id, ctx=stack.ctx)

    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.error is not None
    assert deployment.error.startswith("git clone failed")
    assert deployment.container_id is None
    assert deployment.failure_step is DeployStep.CLONE
    assert deployment.failure_lines == [deployment.error]
    assert deployment.exit_code is None


def test_a_failing_start_command_keeps_its_own_lines(
    make_stack: Callable[..., Stack], db_url: str, client: TestClient
) -> None:
    stack = make_stack(db_url)
    # Hostile output: markup, colours, an OSC title, invalid UTF-8 and a NUL byte.
    stack.update_project(
        start_command="echo starting; "
        "printf '<img src=x onerror=alert(1)> \\033[31mboom\\033[0m\\n'; "
        "printf '\\033]0;title\\007bad \\377 byte, nul \\000 here\\n'; exit 4",
    )
    deployment_id = queue_deployment(stack)

    run_deploy(deployment_id, ctx=stack.ctx)

    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.error == "Start exited with code 4"
    lines = [
        "starting",
        "<img src=x onerror=alert(1)> \x1b[31mboom\x1b[0m",
        "\x1b]0;title\x07bad \ufffd byte, nul \ufffd here",
    ]
    assert (deployment.failure_step, deployment.exit_code) == (DeployStep.START, 4)
    # Only the start command's lines: the build's and the script's announcements are not.
    assert deployment.failure_lines == lines
    block, api = shown_failure(stack, client, deployment)
    assert page_lines(block) == [
        "starting",
        '&lt;img src=x onerror=alert(1)&gt; <span class="ansi-fg-1">boom</span>',
        "bad \ufffd byte, nul \ufffd here",
    ]
    assert "<img" not in block
    assert api == {"step": "start", "exit_code": 4, "lines": lines}


def test_an_app_that_never_answers_times_out_and_is_stopped(
    make_stack: Callable[..., Stack], sqlite_url: str
) -> None:
    stack = make_stack(sqlite_url, build_command="")
    stack.update_project(start_command="echo not listening; sleep 60")
    deployment_id = queue_deployment(stack)
    ctx = WorkerContext(
        settings=stack.settings.model_copy(update={"runner_ready_timeout_seconds": 2}),
        sessions=stack.sessions,
        docker=stack.ctx.docker,
    )

    run_deploy(deployment_id, ctx=ctx)

    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.error == "no answer on port 8000 within 2 s"
    assert wait_exited(stack.container(deployment)) == "exited"
    assert deployment.failure_step is DeployStep.READY_CHECK
    assert (deployment.exit_code, deployment.failure_lines) == (None, ["not listening"])


def test_an_app_that_crashes_after_running_is_marked_failed(
    make_stack: Callable[..., Stack], db_url: str
) -> None:
    stack = make_stack(db_url)
    deployment_id = queue_deployment(stack)
    run_deploy(deployment_id, ctx=stack.ctx)
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.RUNNING}, timeout=1)
    assert run_reconcile(ctx=stack.ctx) == []  # healthy: left alone

    stack.container(deployment).kill()  # SIGKILL: the app dies as an OOM kill would
    assert wait_exited(stack.container(deployment)) == "exited"

    assert run_reconcile(ctx=stack.ctx) == [deployment_id]
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.exit_code == 137
    assert deployment.error == "App exited with code 137 while running"
    assert deployment.failure_step is DeployStep.START
    # The app's own lines: its start, then the worker's ready check in its access log.
    assert deployment.failure_lines is not None
    assert deployment.failure_lines[0] == "Listening on port 8000"
    assert '"GET / HTTP/1.1" 200' in deployment.failure_lines[1]
    assert run_reconcile(ctx=stack.ctx) == []  # idempotent


def test_a_build_whose_worker_was_killed_ends_failed_and_its_runner_stops(
    make_stack: Callable[..., Stack], sqlite_url: str, worker: Callable[..., processes.Child]
) -> None:
    # The build sleeps: the worker process is SIGKILLed while it follows it.
    stack = make_stack(sqlite_url, build_command="sleep 120")
    child = worker(stack.settings)
    queue = DeployQueue(huey_from_url(stack.settings.queue_url))
    deployment_id = stack.deploy(queue)
    # Killed once the build runs: a kill between create and start would leave nothing to stop.
    deadline = time.monotonic() + 60
    while (
        deployment := stack.wait_for(deployment_id, {DeploymentStatus.BUILDING})
    ).container_id is None or stack.container(deployment).status != "running":
        assert time.monotonic() < deadline, child.log_tail()
        time.sleep(0.2)
    child.kill()

    # While a live job could still follow it, the build is left alone.
    assert run_reconcile(ctx=stack.ctx) == []
    assert stack.wait_for(deployment_id, {DeploymentStatus.BUILDING}).status is (
        DeploymentStatus.BUILDING
    )
    # Past every limit of a job (the clock moved on: the row's start, moved back).
    with stack.sessions() as session:
        row = stack.load(session, deployment_id)
        row.started_at = datetime.now(UTC) - abandoned_after(stack.ctx) - timedelta(seconds=1)
        session.commit()
    assert run_reconcile(ctx=stack.ctx) == [deployment_id]
    failed = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert failed.error == ABANDONED_ERROR
    assert wait_exited(stack.container(failed)) == "exited"
    assert run_reconcile(ctx=stack.ctx) == []  # idempotent
