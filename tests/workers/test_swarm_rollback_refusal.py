"""In swarm mode a rollback runs only from a build in the registry: the deploy job says
why it refuses one before it asks Docker anything (no engine needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import docker
import pytest
from huey import MemoryHuey
from pydantic import SecretStr

from devpush.core.config import Settings
from devpush.core.db import create_db_engine, session_factory
from devpush.core.migrate import upgrade_to_head
from devpush.models import Deployment, DeploymentStatus, Team
from devpush.services.environments import ensure_production_environment
from devpush.services.rollback import rollback
from devpush.workers.queue import DeployQueue
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.deploy import run_deploy
from devpush_dev.example import example_project


def rolled_back(sqlite_url: str, tmp_path_factory: pytest.TempPathFactory, **settings: str) -> str:
    """The error of a rollback to a build kept on one server, run in swarm mode."""
    upgrade_to_head(sqlite_url)
    sessions = session_factory(create_db_engine(sqlite_url))
    with sessions() as session:
        project = example_project(tmp_path_factory.mktemp("repo"), Team(name="T", slug="t"), "p")
        session.add(project)
        environment = ensure_production_environment(session, project=project)
        target = Deployment(
            project=project,
            environment=environment,
            branch="main",
            status=DeploymentStatus.SUPERSEDED,
            ready_at=datetime.now(UTC),
            build_image="devpush-build/p:d",
            commit_sha="abc",
        )
        session.add(target)
        session.commit()
        back_id = rollback(
            session,
            project=project,
            target=target,
            created_by=None,
            queue=DeployQueue(MemoryHuey(immediate=False)),
        ).id
    # Never connected: the job refuses before it asks Docker.
    client = docker.DockerClient(base_url="unix:///nonexistent.sock", version="1.41")
    ctx = WorkerContext(
        settings=Settings(
            database_url=sqlite_url, secret_key=SecretStr("k" * 32), swarm=True, **settings
        ),
        sessions=sessions,
        docker=client,
    )
    run_deploy(back_id, ctx=ctx)
    with sessions() as session:
        back = session.get(Deployment, back_id)
        assert back is not None and back.status is DeploymentStatus.FAILED
        assert back.error is not None
        return back.error


def test_without_a_registry_the_refusal_names_the_setting(
    sqlite_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert "set DEVPUSH_SWARM_REGISTRY" in rolled_back(sqlite_url, tmp_path_factory)


def test_a_build_kept_on_one_host_is_refused_as_such(
    sqlite_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    error = rolled_back(sqlite_url, tmp_path_factory, swarm_registry="10.0.0.1:5000")
    assert error.endswith("this build is kept on one host only"), error
