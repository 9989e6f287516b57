"""Deployments: create, redeploy and cancel, and the one place status changes happen.

A deployment moves ``queued → building → running``; it ends ``failed``,
``stopped`` (canceled) or ``superseded`` (a newer deployment of its environment
is running). Every change goes through :func:`transition`, a compare-and-set
``UPDATE``, so the web app (cancel) and the worker (build, supersede) never
overwrite each other's decision.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from devpush.models import Deployment, DeploymentStatus, DeployTrigger, Project, User, utcnow
from devpush.services.environments import ensure_production_environment, environment_for_branch
from devpush.services.git import validate_branch
from devpush.services.jobs import DeployJobs

__all__ = [
    "ALLOWED_TRANSITIONS",
    "cancel_deployment",
    "create_deployment",
    "ensure_production_environment",
    "environment_for_branch",
    "redeploy",
    "transition",
]

#: Where each status may go next; final statuses go nowhere.
ALLOWED_TRANSITIONS: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    DeploymentStatus.QUEUED: frozenset(
        {DeploymentStatus.BUILDING, DeploymentStatus.STOPPED, DeploymentStatus.FAILED}
    ),
    DeploymentStatus.BUILDING: frozenset(
        {DeploymentStatus.RUNNING, DeploymentStatus.STOPPED, DeploymentStatus.FAILED}
    ),
    DeploymentStatus.RUNNING: frozenset(
        {DeploymentStatus.STOPPED, DeploymentStatus.SUPERSEDED, DeploymentStatus.FAILED}
    ),
    DeploymentStatus.FAILED: frozenset(),
    DeploymentStatus.STOPPED: frozenset(),
    DeploymentStatus.SUPERSEDED: frozenset(),
}


def sources_of(target: DeploymentStatus) -> frozenset[DeploymentStatus]:
    """The statuses from which ``target`` may be reached."""
    return frozenset(s for s, nexts in ALLOWED_TRANSITIONS.items() if target in nexts)


def transition(
    session: Session,
    *,
    deployment_id: str,
    to: DeploymentStatus,
    only_from: frozenset[DeploymentStatus] | None = None,
    **values: Any,
) -> bool:
    """Set ``status=to`` (and ``values``) if the current status allows it; True if it did.

    ``only_from`` narrows the allowed sources (for example: stop only while queued).
    The caller commits. Timestamps follow the status: ``started_at`` on building,
    ``ready_at`` on running, ``finished_at`` on any final status.
    """
    sources = sources_of(to) if only_from is None else sources_of(to) & only_from
    if to is DeploymentStatus.BUILDING:
        values.setdefault("started_at", utcnow())
    elif to is DeploymentStatus.RUNNING:
        values.setdefault("ready_at", utcnow())
    elif to.is_final:
        values.setdefault("finished_at", utcnow())
    # An UPDATE's result is a CursorResult, which has the rowcount.
    result = cast(
        "CursorResult[Any]",
        session.execute(
            update(Deployment)
            .where(Deployment.id == deployment_id, Deployment.status.in_(sources))
            .values(status=to, **values)
            .execution_options(synchronize_session="fetch")
        ),
    )
    return result.rowcount == 1


def create_deployment(
    session: Session,
    *,
    project: Project,
    branch: str | None,
    created_by: User | None,
    queue: DeployJobs,
    commit: str | None = None,
    trigger: DeployTrigger = DeployTrigger.MANUAL,
) -> Deployment:
    """A queued deployment of ``branch`` (default: the project's), committed, then enqueued.

    ``commit``: that exact commit (a push's, a chosen one) instead of the branch's newest.
    A manual deploy resumes the environment's auto-deploys (paused by a rollback): the
    user chose what runs next.
    """
    branch = validate_branch(branch or project.default_branch)
    environment = environment_for_branch(session, project=project, branch=branch)
    if trigger is DeployTrigger.MANUAL:
        environment.auto_deploy_paused = False
    return queue_deployment(
        session,
        queue,
        created_by=created_by,
        project=project,
        environment=environment,
        branch=branch,
        requested_commit=commit,
        trigger=trigger,
    )


def queue_deployment(
    session: Session, queue: DeployJobs, *, created_by: User | None, **columns: Any
) -> Deployment:
    """A new queued deployment with ``columns``, committed, then enqueued."""
    deployment = Deployment(
        status=DeploymentStatus.QUEUED,
        created_by_id=created_by.id if created_by is not None else None,
        **columns,
    )
    session.add(deployment)
    # Commit first: the worker must find the row when it picks the job up.
    session.commit()
    queue.enqueue_deploy(deployment.id)
    return deployment


def redeploy(
    session: Session,
    *,
    deployment: Deployment,
    created_by: User | None,
    queue: DeployJobs,
) -> Deployment:
    """A new deployment of the same project and branch (fetches the branch's newest commit)."""
    return create_deployment(
        session,
        project=deployment.project,
        branch=deployment.branch,
        created_by=created_by,
        queue=queue,
    )


def cancel_deployment(session: Session, *, deployment: Deployment, queue: DeployJobs) -> Deployment:
    """Stop a deployment: a queued one at once; a building or running one through the worker.

    The status is ``stopped`` when this returns; the worker stops the container
    (and keeps it, so its last log lines are shipped). Canceling a deployment that
    already ended changes nothing.
    """
    if transition(
        session,
        deployment_id=deployment.id,
        to=DeploymentStatus.STOPPED,
        only_from=frozenset({DeploymentStatus.QUEUED}),
    ):
        session.commit()
    elif transition(session, deployment_id=deployment.id, to=DeploymentStatus.STOPPED):
        session.commit()
        queue.enqueue_stop(deployment.id)
    else:
        session.rollback()
    session.refresh(deployment)
    return deployment
