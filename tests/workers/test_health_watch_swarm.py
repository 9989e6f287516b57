"""The health thread's restarts in swarm mode, around the restart itself.

The restart (new tasks of the service) and the checks' answers are given here;
tests/e2e/test_swarm_hardening.py runs the whole path on the two-node swarm.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import Deployment, DeploymentStatus, HealthStatus, Project
from devpush.services import health, runners
from devpush.workers import health_watch, task_restart
from devpush.workers.health_watch import HealthWatch, Watched
from devpush.workers.tasks.context import WorkerContext
from tests.fixtures.db import add_deployment


@pytest.fixture
def ctx(sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> WorkerContext:
    # No Docker: the runner, the check and the restart are replaced below; no proxy either.
    settings = Settings(swarm=True, health_max_restarts=3)
    context = WorkerContext(settings=settings, sessions=sessions, docker=None)  # type: ignore[arg-type]
    monkeypatch.setattr(type(context.proxy_table), "refresh", lambda *_, **__: True)
    return context


@pytest.fixture
def task(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The deployment's runner as the health thread reads it (a service's task)."""
    found = SimpleNamespace(
        status="running",
        attrs={"State": {"ExitCode": 0, "OOMKilled": False}},
        logs=lambda **_: b"",
    )
    monkeypatch.setattr(runners, "get_runner", lambda *_: found)
    monkeypatch.setattr(
        HealthWatch, "_ask", lambda *_: health.Answer(status=500, body_head="broken")
    )
    return found


@pytest.fixture
def deployment_id(session: Session, project: Project) -> str:
    """A running deployment of a project whose first failed check counts."""
    project.health_expect_status = "200"
    project.health_interval_seconds = 1
    project.health_failure_threshold = 1
    session.commit()
    return add_deployment(session, project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)


def checked_once(ctx: WorkerContext) -> tuple[HealthWatch, Watched]:
    """The health thread and its one running deployment, after the first (failed) check."""
    checks = HealthWatch(ctx)
    [item] = checks.running()
    checks.check(item)
    return checks, item


def load(sessions: sessionmaker[Session], deployment_id: str) -> Deployment:
    with sessions() as session:
        deployment = session.get(Deployment, deployment_id)
        assert deployment is not None
        session.expunge(deployment)
        return deployment


@pytest.mark.usefixtures("task")
def test_a_restart_that_cannot_happen_says_why_and_counts(
    ctx: WorkerContext,
    sessions: sessionmaker[Session],
    deployment_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[dict[str, Any]] = []

    def cannot(*args: Any, **kwargs: Any) -> None:
        asked.append({"args": args[1:], **kwargs})
        raise task_restart.RestartFailed("cannot fetch the repository")

    monkeypatch.setattr(task_restart, "restart_task", cannot)
    _, item = checked_once(ctx)

    assert [a["args"] for a in asked] == [(deployment_id, item.container_ref)]
    seen = load(sessions, deployment_id)
    assert seen.status is DeploymentStatus.RUNNING
    assert seen.health_status is HealthStatus.UNHEALTHY
    assert seen.health_restarts == 1
    assert seen.health_error == (
        "GET / (expects 200): status 500: broken; the restart failed: cannot fetch the repository"
    )


def test_a_new_task_not_yet_placed_is_not_a_stopped_runner_within_the_grace(
    ctx: WorkerContext,
    sessions: sessionmaker[Session],
    deployment_id: str,
    task: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(task_restart, "restart_task", lambda *_, **__: None)
    checks, item = checked_once(ctx)  # fails once: restarted
    assert load(sessions, deployment_id).health_restarts == 1

    task.status = "created"  # Swarm has not placed the new task yet
    checks.check(item)
    assert load(sessions, deployment_id).status is DeploymentStatus.RUNNING
    # Past the grace a task that never ran is a runner that stopped.
    monkeypatch.setattr(health_watch.time, "monotonic", lambda: 1e12)
    checks.check(item)
    assert load(sessions, deployment_id).status is DeploymentStatus.FAILED
