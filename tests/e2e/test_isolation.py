"""Tenants kept apart in the local run (scripts/dev/local.sh, real Docker, Caddy, runners).

Two projects deploy through the local run's own worker; from inside project A's runner,
TCP connects go to project B's runner and to every port the local run listens on (the
web app, the worker's socket-proxy door, Caddy's server, admin API and 404 server, the
log store and its collector), at the host's address on A's network (the bridge gateway,
the way out of a container to its host). Each one fails; B still answers through Caddy.
Two controls show the attempts can succeed: A reaches its own runner, and a port the test
opens on all the host's addresses.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest
from sqlalchemy.orm import Session

from devpush.core.config import Settings
from devpush.core.db import create_db_engine, session_factory
from devpush.models import Deployment, DeploymentStatus, Project, Team
from devpush.services.deployments import create_deployment
from devpush.services.environments import ensure_production_environment
from devpush.services.networks import PROJECT_NETWORK_LABEL, project_network
from devpush.workers.queue import DeployQueue, huey_from_url
from devpush_dev.example import example_project
from devpush_dev.ports import free_port
from devpush_dev.runners import remove_project_leftovers
from tests.e2e.local_run import interrupt, run_until_ready
from tests.utils.git import git
from tests.utils.reach import address, attempt, gateway, unreachable

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hello-python"


def add_project(session: Session, repo: Path, label: str) -> str:
    team = Team(name=label, slug=f"{label}-{uuid.uuid4().hex[:6]}")
    project = example_project(repo, team, label, name=label)
    session.add(project)
    ensure_production_environment(session, project=project)
    session.commit()
    return project.id


def deploy(sessions: object, queue: DeployQueue, project_id: str) -> str:
    with sessions() as session:  # type: ignore[operator]
        project = session.get(Project, project_id)
        return str(
            create_deployment(
                session, project=project, branch=None, created_by=None, queue=queue
            ).id
        )


def wait_running(sessions: object, deployment_id: str, log: Path) -> Deployment:
    deadline = time.monotonic() + 180
    while True:
        with sessions() as session:  # type: ignore[operator]
            found = session.get(Deployment, deployment_id)
            assert found is not None
            if found.status in (DeploymentStatus.RUNNING, DeploymentStatus.FAILED):
                assert found.status is DeploymentStatus.RUNNING, (found.error, log.read_text())
                return found
        assert time.monotonic() < deadline, f"still {found.status}:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


@pytest.fixture
def listener_on_all_addresses() -> Iterator[int]:
    """A port the test opens on 0.0.0.0: what a runner can reach when a service binds all."""
    with socket.socket() as server:
        server.bind(("0.0.0.0", 0))  # the control: all addresses on purpose
        server.listen()
        yield server.getsockname()[1]


def test_a_runner_reaches_no_other_project_and_no_service_of_the_local_run(
    tmp_path: Path, docker_client: docker.DockerClient, listener_on_all_addresses: int
) -> None:
    port, proxy_port = free_port(), free_port()
    data = tmp_path / "data"
    data.mkdir()
    process, lines = run_until_ready(port, data, proxy_port)
    project_ids: list[str] = []
    try:
        pipeline = dict(
            line.split("=", 1) for line in (data / "local" / "pipeline.env").read_text().split()
        )
        sessions = session_factory(create_db_engine(f"sqlite:///{data}/devpush.sqlite3"))
        queue = DeployQueue(huey_from_url(f"sqlite:///{data}/queue.sqlite3"))
        for label in ("alpha", "beta"):
            repo = tmp_path / label
            shutil.copytree(EXAMPLE, repo)
            git(repo, "init", "-q", "-b", "main")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", f"Hello {label}")
            with sessions() as session:
                project_ids.append(add_project(session, repo, label))
        ids = [deploy(sessions, queue, project_id) for project_id in project_ids]
        log = data / "local" / "worker.log"
        a, b = (
            docker_client.containers.get(str(wait_running(sessions, d, log).container_id))
            for d in ids
        )
        settings = Settings(runner_network="devpush_runner")
        net_a, net_b = (project_network(settings, p) for p in project_ids)
        # Each runner is on its own project's network, and on no other.
        assert list(a.attrs["NetworkSettings"]["Networks"]) == [net_a]
        assert list(b.attrs["NetworkSettings"]["Networks"]) == [net_b]
        host = gateway(a, net_a)

        def local(url: str) -> tuple[str, int]:
            parsed = httpx.URL(url)
            assert parsed.host == "127.0.0.1", url  # the local run binds loopback only
            return host, int(parsed.port or 80)

        targets = {
            "project B's runner": (address(b, net_b), 8000),
            "the web app": (host, port),
            "the worker's socket-proxy door": local(pipeline["DEVPUSH_DOCKER_HOST"]),
            "Caddy's server": (host, proxy_port),
            "Caddy's admin API": local(pipeline["DEVPUSH_PROXY_ADMIN_URL"]),
            "Caddy's 404 server": (host, int(pipeline["DEVPUSH_PROXY_NOT_FOUND_PORT"])),
            "the log store": local(pipeline["DEVPUSH_LOG_STORE_URL"]),
            "the collector's metrics": local(pipeline["DEVPUSH_LOG_COLLECTOR_METRICS_URL"]),
        }
        assert unreachable(a, targets) == {}
        # The controls: the same attempts do connect where something is reachable.
        assert attempt(a, address(a, net_a), 8000) == (True, "connected")
        assert attempt(a, host, listener_on_all_addresses) == (True, "connected")
        # And B answers through the proxy, as any visitor reaches it.
        answer = httpx.get(
            f"http://127.0.0.1:{proxy_port}/", headers={"Host": "beta.localhost"}, timeout=30
        )
        assert (answer.status_code, answer.text.startswith("Hello from devpush!")) == (200, True)
    finally:
        assert interrupt(process) == 130, "".join(lines)
        for project_id in project_ids:
            remove_project_leftovers(docker_client, project_id)
            label = f"{PROJECT_NETWORK_LABEL}={project_id}"
            for network in docker_client.networks.list(filters={"label": label}):
                with contextlib.suppress(docker.errors.NotFound):
                    network.remove()
