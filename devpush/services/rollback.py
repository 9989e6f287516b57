"""Rollback: run an earlier deployment's kept build again, without a rebuild.

A deployment that reached ``running`` keeps its build as an image (the worker commits
the ready runner, see ``devpush.services.builds``). A rollback is a new deployment (trigger
``rollback``) that the worker starts from that image: no clone, no build, no pre-deploy
step, then the same ready wait and URL switch as a deploy. It pauses the environment's
auto-deploys, as Vercel does: the rolled-back version stays until someone deploys by
hand or resumes them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from devpush.core.errors import Conflict, NotFound
from devpush.models import (
    Deployment,
    DeploymentStatus,
    DeployTrigger,
    Environment,
    Project,
    User,
)
from devpush.services.deployments import queue_deployment
from devpush.services.jobs import DeployJobs

#: The statuses of a deployment that ran: it is running, or it was once.
_RAN = frozenset({DeploymentStatus.RUNNING, DeploymentStatus.SUPERSEDED, DeploymentStatus.STOPPED})


class RollbackTargetNotFound(NotFound, LookupError):
    """The deployment is not one of the project's."""

    user_message = "deployment not found"


class RollbackRefused(Conflict):
    """The deployment cannot be rolled back to; ``str()`` says why (for a 409)."""


def can_rollback(deployment: Deployment) -> bool:
    """It ran (reached ``running``) and its build is still kept."""
    return (
        deployment.ready_at is not None
        and deployment.status in _RAN
        and deployment.build_image is not None
    )


def serving(session: Session, environment_id: str) -> Deployment | None:
    """The environment's running deployment (the newest, if a switch is under way)."""
    return session.scalars(
        select(Deployment)
        .where(
            Deployment.environment_id == environment_id,
            Deployment.status == DeploymentStatus.RUNNING,
        )
        .order_by(Deployment.created_at.desc())
    ).first()


def _serves(current: Deployment | None, target: Deployment) -> bool:
    """``current`` runs ``target``'s build: it is the target, or a rollback to it."""
    return current is not None and target.id in (current.id, current.rollback_of_id)


def rollback(
    session: Session,
    *,
    project: Project,
    target: Deployment,
    created_by: User | None,
    queue: DeployJobs,
) -> Deployment:
    """A queued rollback deployment to ``target``'s build, committed, then enqueued.

    Pauses the environment's auto-deploys (a manual deploy or a resume lifts it).
    """
    if target.project_id != project.id:
        raise RollbackTargetNotFound(target.id)
    if target.ready_at is None or target.status not in _RAN:
        raise RollbackRefused("only a deployment that ran can be rolled back to")
    if target.build_image is None:
        raise RollbackRefused(
            "this deployment's build is no longer kept (only the newest builds are)"
        )
    if _serves(serving(session, target.environment_id), target):
        raise RollbackRefused("this deployment's build is already serving")
    target.environment.auto_deploy_paused = True
    return queue_deployment(
        session,
        queue,
        project=project,
        environment=target.environment,
        branch=target.branch,
        created_by=created_by,
        commit_sha=target.commit_sha,
        commit_message=target.commit_message,
        trigger=DeployTrigger.ROLLBACK,
        rollback_of_id=target.id,
    )


def default_target(session: Session, environment: Environment) -> Deployment | None:
    """What ``devpush rollback`` picks: the newest deployment before the serving one
    whose build is kept and is not already serving."""
    current = serving(session, environment.id)
    candidates = session.scalars(
        select(Deployment)
        .where(
            Deployment.environment_id == environment.id,
            Deployment.build_image.is_not(None),
            Deployment.ready_at.is_not(None),
        )
        .order_by(Deployment.created_at.desc())
    ).all()
    for candidate in candidates:
        if current is not None and candidate.created_at > current.created_at:
            continue
        if can_rollback(candidate) and not _serves(current, candidate):
            return candidate
    return None


def resume_auto_deploys(session: Session, environment: Environment) -> Environment:
    """Pushes deploy the environment again; committed."""
    environment.auto_deploy_paused = False
    session.commit()
    return environment
