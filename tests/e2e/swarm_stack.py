"""The swarm e2e tests' stack: a database, the worker's context on the two-node test swarm,
its proxy and resolver, and a project placed by zone (fixture ``stack``, named like
tests/e2e/conftest.py's: a swarm module imports it, ``from ... import stack as stack``)."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import docker
import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.core.db import create_db_engine, session_factory
from devpush.core.migrate import upgrade_to_head
from devpush.models import Deployment, Environment, Project, Team
from devpush.services import hosts, proxy_config
from devpush.services.cluster import runner_services
from devpush.services.deployments import create_deployment
from devpush.services.environments import ensure_production_environment
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.deploy import run_deploy
from devpush_dev.engines import Engine, Swarm
from devpush_dev.example import example_project, example_repo
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import start_resolver
from tests.e2e.support import memory_queue

#: The proxy's public port in node 1's namespace (the first slice's test uses 18080).
PUBLIC_PORT: Final = 18081


#: Node labels the projects are placed by.
ZONES: Final = ("one", "two")


@dataclass
class SwarmStack:
    swarm: Swarm
    settings: Settings
    sessions: sessionmaker[Session]
    ctx: WorkerContext
    tmp: Path
    team_id: str = ""

    def project(self, label: str, placement: str, *, build_command: str = "") -> str:
        """A project of the example app placed by ``placement``: its id."""
        repo = example_repo(self.tmp / f"repo-{label}")
        with self.sessions() as session:
            team = session.get(Team, self.team_id) if self.team_id else None
            project = example_project(
                repo, team or Team(name="Swarm", slug="swarm"), f"{label}-{uuid.uuid4().hex[:6]}"
            )
            project.placement_label = placement
            if build_command:
                project.build_command = build_command
            session.add(project)
            ensure_production_environment(session, project=project)
            session.commit()
            self.team_id = project.team_id
            return project.id

    def clear_placement_label(self, project_id: str) -> None:
        """What the project's admin does to let its deployments move: clear its host label."""
        with self.sessions() as session:
            project = session.get(Project, project_id)
            assert project is not None
            project.placement_label = ""
            session.commit()

    def deploy(self, project_id: str) -> tuple[str, float]:
        """Queue a deployment and run the worker's job on it: its id and the job's time."""
        with self.sessions() as session:
            project = session.get(Project, project_id)
            assert project is not None
            deployment_id = create_deployment(
                session, project=project, branch=None, created_by=None, queue=memory_queue()
            ).id
        started = time.monotonic()
        run_deploy(deployment_id, ctx=self.ctx)
        return deployment_id, time.monotonic() - started

    def load(self, deployment_id: str) -> Deployment:
        with self.sessions() as session:
            deployment = session.get(Deployment, deployment_id)
            assert deployment is not None
            session.expunge(deployment)
            return deployment

    def url_host(self, deployment_id: str) -> str:
        with self.sessions() as session:
            deployment = session.get(Deployment, deployment_id)
            assert deployment is not None
            url = hosts.deployment_url(deployment, self.settings)
        assert url is not None, "the deployment does not run"
        return httpx.URL(url).host

    def environment_host(self, deployment_id: str) -> str:
        """The host name of the URL of the deployment's environment."""
        with self.sessions() as session:
            deployment = session.get(Deployment, deployment_id)
            assert deployment is not None
            environment = session.get(Environment, deployment.environment_id)
            assert environment is not None
            url = hosts.environment_url(environment, self.settings)
        assert url is not None, "the environment has no URL"
        return httpx.URL(url).host

    def ask(self, host: str) -> httpx.Response:
        url = f"http://{self.swarm.manager.address}:{PUBLIC_PORT}/"
        return httpx.get(url, headers={"Host": host}, timeout=5)

    def node_of(self, deployment: Deployment) -> str:
        assert deployment.container_id, "the worker recorded no service"
        task = runner_services.get_service_task(
            self.ctx.docker, self.settings, deployment.container_id
        )
        assert task is not None, "the deployment's service is gone"
        return str(task.attrs["Node"])


def task_containers(engine: Engine, deployment_id: str) -> list[str]:
    return engine.docker(
        "ps", "-aq", "--filter", f"label=devpush.deployment_id={deployment_id}"
    ).split()


@pytest.fixture
def stack(restored_nodes: Swarm, sqlite_url: str, tmp_path: Path) -> Iterator[SwarmStack]:
    """The worker's jobs on the swarm; the node labels they place by are removed after."""
    swarm = restored_nodes
    for engine, zone in zip(swarm.engines, ZONES, strict=True):
        swarm.manager.docker("node", "update", "--label-add", f"zone={zone}", engine.node_id)
    # A short directory: a unix socket's path has at most 107 bytes.
    state = Path(tempfile.mkdtemp(prefix="swd-", dir="/tmp"))
    proxy = f"devpush-test-caddy-{swarm.token}-{state.name[-6:]}"
    settings = Settings(
        database_url=sqlite_url,
        secret_key=SecretStr("swarm-secret-key"),
        swarm=True,
        docker_host=swarm.manager.host,
        swarm_source_address=f"{swarm.gateway}:0",
        runner_network=f"devpush_sw_{state.name[-6:]}",
        runner_address="proxy",
        runner_ready_timeout_seconds=120,
        runner_stop_timeout_seconds=1,
        runner_memory="256m",
        runner_cpus=0.5,
        domain="swarm.test",
        proxy_container=proxy,
        proxy_admin_url=f"unix://{state}/admin.sock",
        proxy_bind="0.0.0.0",  # inside the proxy's container on node 1
        public_port=PUBLIC_PORT,
        proxy_resolver_addr=f"{swarm.gateway}:{free_port()}",
    )
    upgrade_to_head(sqlite_url)
    resolver = start_resolver(
        database_url=sqlite_url,
        address=settings.proxy_resolver_addr,
        not_found_port=settings.proxy_not_found_port,
        state_dir=state,
    )
    client = docker.DockerClient(base_url=swarm.manager.host, timeout=60)
    sessions = session_factory(create_db_engine(sqlite_url))
    ctx = WorkerContext(settings=settings, sessions=sessions, docker=client)
    try:
        (state / "initial.json").write_text(json.dumps(proxy_config.initial_config(settings)))
        swarm.manager.docker(
            "run", "-d", "--name", proxy, "-p", f"{PUBLIC_PORT}:{PUBLIC_PORT}",
            "-v", f"{state}:{state}", "devpush/caddy:local",
            "caddy", "run", "--config", f"{state}/initial.json",
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not (state / "admin.sock").exists():
            assert time.monotonic() < deadline, swarm.manager.docker("logs", proxy, check=False)
            time.sleep(0.2)
        # What a starting worker does (its reconcile job): the proxy runs devpush's config,
        # with the probe server the ready check asks through.
        proxy_config.ensure_proxy_config(settings)
        yield SwarmStack(swarm, settings, sessions, ctx, tmp_path)
    finally:
        ctx.sources.stop()
        with contextlib.suppress(docker.errors.APIError):
            for service in client.api.services(filters={"label": "devpush.role=runner"}):
                runner_services.remove_runner_service(client, service["ID"])
        swarm.manager.docker("rm", "-f", proxy, check=False)
        for network in client.networks.list(names=[settings.runner_network]):
            with contextlib.suppress(docker.errors.APIError):
                network.remove()
        client.close()
        sessions.kw["bind"].dispose()
        resolver.stop()
        shutil.rmtree(state, ignore_errors=True)


def answer_of(stack: SwarmStack, host: str, *, timeout: float = 30) -> httpx.Response:
    """The proxy's first answer that is no 502/503 (a switch settling), or the last one."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = stack.ask(host)
            if answer.status_code not in (502, 503) or time.monotonic() > deadline:
                return answer
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)
