"""What a push does (devpush.services.push), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from devpush.models import (
    DeliveryResult,
    Deployment,
    DeploymentStatus,
    DeployTrigger,
    Environment,
    EnvironmentKind,
    Project,
)
from devpush.services.deployments import create_deployment, transition
from devpush.services.push import Push, deploy_push, stop_branch
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import pending

A = "a" * 40
B = "b" * 40


pytestmark = pytest.mark.both_databases


def _status(session: Session, deployment_id: str) -> DeploymentStatus:
    status = session.scalar(select(Deployment.status).where(Deployment.id == deployment_id))
    assert status is not None
    return status


def test_a_push_to_the_default_branch_deploys_that_commit_to_production(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    outcome = deploy_push(session, Push(project, "main", A), queue=queue)
    assert outcome.result is DeliveryResult.DEPLOYED
    deployment = outcome.deployment
    assert deployment is not None
    assert deployment.requested_commit == A
    assert deployment.trigger is DeployTrigger.WEBHOOK
    assert deployment.environment.kind is EnvironmentKind.PRODUCTION
    assert [args for _, args in pending(queue)] == [(deployment.id,)]


def test_a_push_to_another_branch_creates_its_preview_once(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    first = deploy_push(session, Push(project, "feature/x", A), queue=queue)
    second = deploy_push(session, Push(project, "feature/x", B), queue=queue)
    assert first.deployment is not None and second.deployment is not None
    assert first.deployment.environment_id == second.deployment.environment_id
    environments = session.scalars(
        select(Environment).where(Environment.project_id == project.id)
    ).all()
    assert [(e.kind, e.branch) for e in environments] == [(EnvironmentKind.PREVIEW, "feature/x")]


def test_previews_off_ignores_other_branches(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    project.preview_deploys = False
    session.commit()
    outcome = deploy_push(session, Push(project, "feature/x", A), queue=queue)
    assert outcome.result is DeliveryResult.IGNORED
    assert "preview deploys are off" in outcome.reason
    assert pending(queue) == []


def test_a_newer_push_supersedes_a_queued_older_one(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    older = deploy_push(session, Push(project, "main", A), queue=queue).deployment
    building = create_deployment(
        session, project=project, branch="main", created_by=None, queue=queue
    )
    transition(session, deployment_id=building.id, to=DeploymentStatus.BUILDING)
    session.commit()
    newer = deploy_push(session, Push(project, "main", B), queue=queue).deployment
    assert older is not None and newer is not None
    session.refresh(older)
    assert older.status is DeploymentStatus.STOPPED
    assert "superseded by a newer push" in (older.error or "")
    # One that already builds goes on: the switch decides between finished builds.
    assert _status(session, building.id) is DeploymentStatus.BUILDING
    assert _status(session, newer.id) is DeploymentStatus.QUEUED


def test_the_same_commit_is_not_deployed_twice(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    first = deploy_push(session, Push(project, "main", A), queue=queue)
    again = deploy_push(session, Push(project, "main", A, DeployTrigger.POLL), queue=queue)
    assert again.result is DeliveryResult.IGNORED
    assert again.deployment is not None and first.deployment is not None
    assert again.deployment.id == first.deployment.id
    assert len(pending(queue)) == 1


def test_a_paused_environment_ignores_pushes_until_a_manual_deploy(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    deploy_push(session, Push(project, "main", A), queue=queue)
    production = session.scalars(select(Environment)).one()
    production.auto_deploy_paused = True
    session.commit()
    outcome = deploy_push(session, Push(project, "main", B), queue=queue)
    assert outcome.result is DeliveryResult.IGNORED
    assert "paused after a rollback" in outcome.reason
    create_deployment(session, project=project, branch="main", created_by=None, queue=queue)
    session.refresh(production)
    assert production.auto_deploy_paused is False
    assert deploy_push(session, Push(project, "main", B), queue=queue).result is (
        DeliveryResult.DEPLOYED
    )


def test_a_bad_branch_name_is_refused(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    outcome = deploy_push(session, Push(project, "-x..y", A), queue=queue)
    assert outcome.result is DeliveryResult.REFUSED
    assert pending(queue) == []


def test_a_deleted_branch_stops_its_preview_and_never_production(
    session: Session, project: Project, queue: DeployQueue
) -> None:
    preview = deploy_push(session, Push(project, "feature/x", A), queue=queue)
    assert preview.deployment is not None
    transition(session, deployment_id=preview.deployment.id, to=DeploymentStatus.BUILDING)
    transition(session, deployment_id=preview.deployment.id, to=DeploymentStatus.RUNNING)
    session.commit()
    outcome = stop_branch(session, project=project, branch="feature/x", queue=queue)
    assert outcome.result is DeliveryResult.STOPPED
    assert _status(session, preview.deployment.id) is DeploymentStatus.STOPPED
    assert ("devpush.stop", (preview.deployment.id,)) in pending(queue)
    assert stop_branch(session, project=project, branch="main", queue=queue).result is (
        DeliveryResult.IGNORED
    )
    assert stop_branch(session, project=project, branch="gone", queue=queue).result is (
        DeliveryResult.IGNORED
    )
