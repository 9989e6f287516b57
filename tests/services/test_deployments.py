"""The deployment service on SQLite and PostgreSQL: environments, enqueueing, status changes."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from devpush.models import (
    Deployment,
    DeploymentStatus,
    EnvironmentKind,
    Project,
    User,
)
from devpush.services.deployments import (
    ALLOWED_TRANSITIONS,
    cancel_deployment,
    create_deployment,
    ensure_production_environment,
    environment_for_branch,
    redeploy,
    transition,
)
from devpush.services.git import InvalidBranchError
from devpush.workers.queue import DeployQueue

pytestmark = pytest.mark.both_databases


@pytest.fixture
def user(session: Session) -> User:
    user = User(email="a@example.test", password_hash="x")
    session.add(user)
    session.commit()
    return user


def pending(queue: DeployQueue) -> list[tuple[str, tuple]]:
    return [(task.name, task.args) for task in queue.huey.pending()]


def test_default_branch_deploys_to_production(
    session: Session, project: Project, user: User, queue: DeployQueue
) -> None:
    deployment = create_deployment(
        session, project=project, branch=None, created_by=user, queue=queue
    )
    assert deployment.branch == "main"
    assert deployment.status is DeploymentStatus.QUEUED
    assert deployment.created_by_id == user.id
    assert deployment.environment.kind is EnvironmentKind.PRODUCTION
    assert deployment.environment.name == "production"
    assert pending(queue) == [("devpush.deploy", (deployment.id,))]


def test_other_branches_get_one_preview_environment_each(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    first = create_deployment(
        session, project=project, branch="feature/x", created_by=None, queue=queue
    )
    second = create_deployment(
        session, project=project, branch="feature/x", created_by=None, queue=queue
    )
    assert first.environment.kind is EnvironmentKind.PREVIEW
    assert first.environment.name == "feature/x"
    assert second.environment_id == first.environment_id
    odd = environment_for_branch(session, project=project, branch="production")
    assert odd.name == "preview-production"
    assert odd.kind is EnvironmentKind.PREVIEW


def test_production_environment_is_created_once_and_follows_the_default_branch(
    session: Session, project: Project
) -> None:
    production = ensure_production_environment(session, project=project)
    assert ensure_production_environment(session, project=project).id == production.id
    project.default_branch = "trunk"
    assert ensure_production_environment(session, project=project).branch == "trunk"


def test_invalid_branch_is_refused_before_anything_is_written(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    with pytest.raises(InvalidBranchError):
        create_deployment(session, project=project, branch="a..b", created_by=None, queue=queue)
    assert pending(queue) == []


def test_redeploy_makes_a_new_deployment_of_the_same_branch(
    session: Session, project: Project, user: User, queue: DeployQueue
) -> None:
    old = create_deployment(session, project=project, branch="dev", created_by=None, queue=queue)
    new = redeploy(session, deployment=old, created_by=user, queue=queue)
    assert new.id != old.id
    assert (new.branch, new.environment_id) == ("dev", old.environment_id)
    assert [args for _, args in pending(queue)] == [(old.id,), (new.id,)]


def test_cancel_a_queued_deployment_stops_it_at_once(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    deployment = create_deployment(
        session, project=project, branch=None, created_by=None, queue=queue
    )
    cancel_deployment(session, deployment=deployment, queue=queue)
    assert deployment.status is DeploymentStatus.STOPPED
    assert deployment.finished_at is not None
    # No container yet: nothing for the worker to stop.
    assert [name for name, _ in pending(queue)] == ["devpush.deploy"]


def cancelled_at(
    status: DeploymentStatus, session: Session, project: Project, queue: DeployQueue
) -> Deployment:
    """A deployment of ``project`` put in ``status``, then cancelled."""
    deployment = create_deployment(
        session, project=project, branch=None, created_by=None, queue=queue
    )
    deployment.status = status
    session.commit()
    cancel_deployment(session, deployment=deployment, queue=queue)
    return deployment


@pytest.mark.parametrize("status", [DeploymentStatus.BUILDING, DeploymentStatus.RUNNING])
def test_cancel_a_building_or_running_deployment_asks_the_worker_to_stop_it(
    session: Session, project: Project, queue: DeployQueue, status: DeploymentStatus
) -> None:
    deployment = cancelled_at(status, session, project, queue)
    assert deployment.status is DeploymentStatus.STOPPED
    assert pending(queue)[-1] == ("devpush.stop", (deployment.id,))


@pytest.mark.parametrize(
    "status", [DeploymentStatus.FAILED, DeploymentStatus.STOPPED, DeploymentStatus.SUPERSEDED]
)
def test_cancel_an_ended_deployment_changes_nothing(
    session: Session, project: Project, queue: DeployQueue, status: DeploymentStatus
) -> None:
    deployment = cancelled_at(status, session, project, queue)
    assert deployment.status is status
    assert len(pending(queue)) == 1


def test_transitions_follow_the_table(session: Session, project: Project) -> None:
    production = ensure_production_environment(session, project=project)
    for source in DeploymentStatus:
        for target in DeploymentStatus:
            deployment = Deployment(
                project=project, environment=production, branch="main", status=source
            )
            session.add(deployment)
            session.commit()
            changed = transition(session, deployment_id=deployment.id, to=target)
            session.commit()
            session.refresh(deployment)
            assert changed == (target in ALLOWED_TRANSITIONS[source]), (source, target)
            assert deployment.status is (target if changed else source)
            if changed and target.is_final:
                assert deployment.finished_at is not None


def test_final_statuses_are_final() -> None:
    for status in DeploymentStatus:
        assert (ALLOWED_TRANSITIONS[status] == frozenset()) == status.is_final
