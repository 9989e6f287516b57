"""Deployments that ran (no worker runs in these tests), for the rollback tests of the API,
the pages and the CLI."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from devpush.models import Deployment, DeploymentStatus, Project
from devpush.services.deployments import create_deployment, transition
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import Member


def ran(
    sessions: sessionmaker[Session], queue: DeployQueue, project_id: str, *, kept: bool = True
) -> str:
    """A new deployment of the project that became running (superseding the one before),
    with a kept build."""
    with sessions() as session:
        project = session.get(Project, project_id)
        assert project is not None
        deployment = create_deployment(
            session, project=project, branch=None, created_by=None, queue=queue
        )
        return became_running(session, deployment, kept=kept)


def became_running(session: Session, deployment: Deployment, *, kept: bool = True) -> str:
    for row in session.query(Deployment).filter(
        Deployment.environment_id == deployment.environment_id,
        Deployment.status == DeploymentStatus.RUNNING,
    ):
        transition(session, deployment_id=row.id, to=DeploymentStatus.SUPERSEDED)
    transition(session, deployment_id=deployment.id, to=DeploymentStatus.BUILDING)
    transition(session, deployment_id=deployment.id, to=DeploymentStatus.RUNNING)
    deployment.commit_sha, deployment.commit_message = "a" * 40, "First"
    if kept:
        deployment.build_image = f"devpush-build/{deployment.project_id}:{deployment.id}"
    session.commit()
    return deployment.id


def ran_twice(
    sessions: sessionmaker[Session], queue: DeployQueue, member: Member
) -> tuple[str, str]:
    """The member's first deployment, then a second one superseding it, both ran: their ids."""
    with sessions() as session:
        first = session.get(Deployment, member.deployment_id)
        assert first is not None
        became_running(session, first)
    return first.id, ran(sessions, queue, member.project_id)
