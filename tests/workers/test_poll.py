"""The poller against a real repository (a local one: the server is in development)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.core.crypto import fernet_for
from devpush.models import (
    DeliveryResult,
    Deployment,
    DeployTrigger,
    Project,
    Team,
    WebhookDelivery,
    utcnow,
)
from devpush.services.project_git import set_poll_interval
from devpush.services.projects import create_project
from devpush.workers.queue import DeployQueue
from devpush.workers.tasks.poll import run_poll
from tests.fixtures.web import SECRET_KEY, pending, project_input
from tests.utils.git import git, make_repo


def test_a_new_commit_is_deployed_by_one_poll_and_the_first_poll_deploys_nothing(
    sessions: sessionmaker[Session], queue: DeployQueue, tmp_path: Path
) -> None:
    settings = Settings(secret_key=SECRET_KEY, poll_min_interval_seconds=60)
    repo = make_repo(tmp_path / "repo")
    with sessions() as session:
        team = Team(name="Polled", slug="polled")
        session.add(team)
        project = create_project(
            session,
            team=team,
            data=project_input(repo_url=str(repo)),
            fernet=fernet_for(SECRET_KEY),
        )
        set_poll_interval(project, 60, settings=settings)
        session.commit()
        project_id = project.id

    now = utcnow()

    def deployments() -> list[Deployment]:
        with sessions() as session:
            found = select(Deployment).where(Deployment.project_id == project_id)
            return list(session.scalars(found))

    def poll(seconds: int) -> int:
        """One run of the poller, ``seconds`` after the first."""
        at = now + timedelta(seconds=seconds)
        return run_poll(settings=settings, sessions=sessions, queue=queue, now=at)

    assert poll(0) == 0
    assert deployments() == []  # the first poll records the heads only
    with sessions() as session:
        row = session.get(Project, project_id)
        assert row is not None and row.polled_heads == {"main": git(repo, "rev-parse", "main")}

    (repo / "app.py").write_text("print('two')\n")
    git(repo, "commit", "-qam", "Two")
    pushed = git(repo, "rev-parse", "main")
    # Not due yet: nothing polled.
    assert poll(30) == 0
    assert deployments() == []
    assert poll(61) == 1
    [deployment] = deployments()
    assert (deployment.branch, deployment.requested_commit, deployment.trigger) == (
        "main",
        pushed,
        DeployTrigger.POLL,
    )
    assert [name for name, _ in pending(queue)] == ["devpush.deploy"]
    # Nothing new: nothing more.
    assert poll(122) == 0

    # A new branch deploys its preview; its deletion stops it.
    git(repo, "checkout", "-qb", "feature")
    git(repo, "commit", "-q", "--allow-empty", "-m", "Feature")
    assert poll(261) == 1
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-qD", "feature")
    assert poll(361) == 1
    with sessions() as session:
        records = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.project_id == project_id)
            .order_by(WebhookDelivery.received_at)
        ).all()
        assert [(r.forge, r.event, r.branch, r.result) for r in records] == [
            ("poll", "push", "main", DeliveryResult.DEPLOYED),
            ("poll", "push", "feature", DeliveryResult.DEPLOYED),
            ("poll", "delete", "feature", DeliveryResult.STOPPED),
        ]
        assert records[0].commit == pushed


def test_the_interval_has_a_minimum(sessions: sessionmaker[Session]) -> None:
    settings = Settings(poll_min_interval_seconds=120)
    project = Project(poll_interval_seconds=None)
    try:
        set_poll_interval(project, 60, settings=settings)
    except ValueError as exc:
        assert "at least 120 seconds" in str(exc)
    else:
        raise AssertionError("accepted an interval below the minimum")
    set_poll_interval(project, None, settings=settings)
    assert project.poll_interval_seconds is None
