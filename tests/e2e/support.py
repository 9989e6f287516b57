"""Deploy stacks for the e2e tests: a database, settings and a project on the real Docker
engine (the fixtures that make them are in tests/e2e/conftest.py), what tests ask of them,
and the small apps and servers several e2e modules deploy or start."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Final

import docker
from docker.models.containers import Container
from fastapi.testclient import TestClient
from huey import MemoryHuey
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import Deployment, DeploymentStatus, Project, TeamMember, TeamRole
from devpush.services import hosts
from devpush.services.deployments import create_deployment, redeploy
from devpush.services.networks import project_network
from devpush.services.tokens import create_token
from devpush.services.users import create_user
from devpush.workers.queue import DeployQueue, huey_from_url
from devpush.workers.tasks.context import WorkerContext
from devpush_dev import processes
from devpush_dev.resolver_process import Resolver
from tests.fixtures.web import PASSWORD, log_in
from tests.utils.git import git

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


def wait_kept(stack: Stack, deployment_id: str, *, timeout: float = 60) -> str:
    """The deployment's build image, once the worker has committed it."""
    deadline = time.monotonic() + timeout
    while True:
        with stack.sessions() as session:
            image = stack.load(session, deployment_id).build_image
        if image is not None:
            return image
        assert time.monotonic() < deadline, f"deployment {deployment_id} kept no build"
        time.sleep(0.2)


def deploy_hi_again(
    stack: Stack, queue: DeployQueue, child: processes.Child, *, timeout: float = 90
) -> Deployment:
    """Commit an app that answers "Hi again" and deploy it; the deployment once it runs."""
    app_py = stack.repo / "app.py"
    app_py.write_text(app_py.read_text().replace("Hello from devpush!", "Hi again from devpush!"))
    git(stack.repo, "commit", "-q", "-am", "Say hi again")
    new_id = stack.deploy(queue)
    new = stack.wait_for(
        new_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED}, timeout=timeout
    )
    assert new.status is DeploymentStatus.RUNNING, (new.error, child.log_tail())
    return new


GREET_APP = '''\
"""Answers every GET with the value of $GREETING it started with."""
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Greet(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("GREETING=" + os.environ.get("GREETING", "") + "\\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Greet).serve_forever()
'''


def add_greet_app(stack: Stack) -> None:
    """Commit the GREET_APP to the stack's repository; the project gets no build step."""
    stack.update_project(build_command="")
    (stack.repo / "greet.py").write_text(GREET_APP)
    git(stack.repo, "add", "greet.py")
    git(stack.repo, "commit", "-q", "-m", "Greet")


def production_host(stack: Stack) -> str:
    return hosts.environment_host(
        environment_name="production",
        production=True,
        host_label="hello",
        domain=stack.settings.domain,
    )


def owner_and_token(stack: Stack) -> tuple[str, str]:
    """A user owning the stack's team: their e-mail and an API token."""
    email = "owner@example.org"
    return email, stack.add_owner(email)


def runner_names(engine: docker.DockerClient, project_id: str) -> list[str]:
    # The low-level list: containers.list() inspects each one, and a runner removed
    # between the list and the inspect would raise NotFound.
    label = f"devpush.project_id={project_id}"
    found = engine.api.containers(all=True, filters={"label": label})
    return [str(c["Names"][0]).lstrip("/") for c in found]


#: The test app: its answers follow READY_AFTER, BROKEN_AFTER and NEVER_READY (seconds
#: since it started, or set at all), and ``/eat`` allocates HOG_MB megabytes.
HEALTH_APP = """\
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STARTED = time.time()
READY_AFTER = float(os.environ.get("READY_AFTER", "0"))
BROKEN_AFTER = float(os.environ.get("BROKEN_AFTER", "1e9"))


class App(BaseHTTPRequestHandler):
    def do_GET(self):
        age = time.time() - STARTED
        if self.path == "/healthz":
            if os.environ.get("NEVER_READY"):
                code, body = 503, "not ready: the database is down"
            elif age < READY_AFTER:
                code, body = 503, "warming up"
            elif age >= BROKEN_AFTER:
                code, body = 500, "broken"
            else:
                code, body = 200, "ok"
        elif self.path == "/started":
            code, body = 200, repr(STARTED)
        elif self.path == "/eat":
            hog = b"x" * (int(os.environ.get("HOG_MB", "512")) << 20)
            code, body = 200, str(len(hog))
        else:
            code, body = 200, os.environ.get("ANSWER", "health app") + "\\n"
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


print("health app listening", flush=True)
ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), App).serve_forever()
"""


def commit_health_app(repo: Path) -> None:
    """Commit HEALTH_APP to the project's repository as ``health_app.py``."""
    (repo / "health_app.py").write_text(HEALTH_APP)
    git(repo, "add", "health_app.py")
    git(repo, "commit", "-q", "-m", "Add the health test app")


def health_app_fields(env: str, *, expect: str, grace_seconds: int) -> dict[str, object]:
    """A project's fields that start HEALTH_APP with ``env`` (``"ANSWER=v2 READY_AFTER=5"``)
    and check its ``/healthz`` for ``expect`` within ``grace_seconds`` of the start."""
    return {
        "start_command": f"{env} python3 health_app.py",
        "health_path": "/healthz",
        "health_expect_status": expect,
        "health_grace_seconds": grace_seconds,
    }


def serve(handler: type[BaseHTTPRequestHandler]) -> HTTPServer:
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
