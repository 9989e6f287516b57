"""What a push does: the one place where a new commit on a branch becomes a deployment.

The webhook endpoint (a forge's push) and the poller (a new head seen by ``git
ls-remote``) both call :func:`deploy_push` and :func:`stop_branch`, so both follow the
same rules:

- a push to the default branch deploys that exact commit to production; a push to
  another branch deploys its preview environment, created on its first push (unless the
  project turned preview deploys off);
- an environment whose auto-deploys are paused (after a rollback) is left alone;
- a commit already queued, building or running in the environment is not deployed twice
  (a webhook and the poller may both see it);
- a newer push supersedes an older one still queued: only the newest commit is built;
- a deleted branch stops its preview environment's deployments.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from devpush.models import (
    DeliveryResult,
    Deployment,
    DeploymentStatus,
    DeployTrigger,
    Environment,
    Project,
)
from devpush.services.deployments import cancel_deployment, create_deployment, transition
from devpush.services.environments import environment_for_branch
from devpush.services.git import branch_problem
from devpush.services.jobs import DeployJobs

#: The statuses in which a deployment is still to run or runs.
_LIVE = (DeploymentStatus.QUEUED, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class Push:
    """A branch that moved to a new commit, as a forge's webhook or the poller saw it."""

    project: Project
    branch: str
    commit: str
    trigger: DeployTrigger = DeployTrigger.WEBHOOK


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What a push led to, as a delivery records it: the result, why, and the deployment."""

    result: DeliveryResult
    reason: str
    deployment: Deployment | None = None


def _short(commit: str) -> str:
    return commit[:12]


def deploy_push(session: Session, push: Push, *, queue: DeployJobs) -> PushOutcome:
    """Deploy the push's commit by the rules above; commits the session when it deploys."""
    project, branch, commit = push.project, push.branch, push.commit
    if problem := branch_problem(branch):
        return PushOutcome(DeliveryResult.REFUSED, f"not a branch git accepts: {problem}")
    if branch != project.default_branch and not project.preview_deploys:
        return PushOutcome(
            DeliveryResult.IGNORED,
            f"{branch} is not the default branch ({project.default_branch}) "
            "and preview deploys are off",
        )
    environment = _environment(session, project=project, branch=branch)
    if environment is not None and environment.auto_deploy_paused:
        return PushOutcome(
            DeliveryResult.IGNORED,
            f"auto-deploys of {environment.name} are paused after a rollback: "
            "deploy or resume auto-deploys to start them again",
        )
    if environment is not None and (same := _live_with_commit(session, environment, commit)):
        return PushOutcome(
            DeliveryResult.IGNORED,
            f"commit {_short(commit)} is already {same.status.value} in {environment.name}",
            same,
        )
    if environment is not None:
        _supersede_queued(session, environment=environment, commit=commit)
    deployment = create_deployment(
        session,
        project=project,
        branch=branch,
        commit=commit,
        created_by=None,
        queue=queue,
        trigger=push.trigger,
    )
    return PushOutcome(
        DeliveryResult.DEPLOYED,
        f"deploying {_short(commit)} to {deployment.environment.name}",
        deployment,
    )


def stop_branch(
    session: Session, *, project: Project, branch: str, queue: DeployJobs
) -> PushOutcome:
    """A deleted branch: its preview environment's deployments stop (production never does)."""
    if branch == project.default_branch:
        return PushOutcome(
            DeliveryResult.IGNORED,
            f"the default branch {branch} was deleted: production keeps running",
        )
    environment = _environment(session, project=project, branch=branch)
    if environment is None:
        return PushOutcome(DeliveryResult.IGNORED, f"no environment follows {branch}")
    live = session.scalars(
        select(Deployment).where(
            Deployment.environment_id == environment.id, Deployment.status.in_(_LIVE)
        )
    ).all()
    if not live:
        session.rollback()
        return PushOutcome(DeliveryResult.IGNORED, f"nothing runs in {environment.name}")
    for deployment in live:
        cancel_deployment(session, deployment=deployment, queue=queue)
    count = len(live)
    return PushOutcome(
        DeliveryResult.STOPPED,
        f"{branch} was deleted: stopped {count} deployment{'s' if count > 1 else ''} "
        f"of {environment.name}",
    )


def _environment(session: Session, *, project: Project, branch: str) -> Environment | None:
    """The environment that follows ``branch``, if there is one yet (production always is)."""
    if branch == project.default_branch:
        return environment_for_branch(session, project=project, branch=branch)
    return session.scalar(
        select(Environment).where(
            Environment.project_id == project.id, Environment.branch == branch
        )
    )


def _live_with_commit(session: Session, environment: Environment, commit: str) -> Deployment | None:
    return session.scalar(
        select(Deployment)
        .where(
            Deployment.environment_id == environment.id,
            Deployment.status.in_(_LIVE),
            or_(Deployment.commit_sha == commit, Deployment.requested_commit == commit),
        )
        .order_by(Deployment.created_at.desc())
        .limit(1)
    )


def _supersede_queued(session: Session, *, environment: Environment, commit: str) -> None:
    """Older deployments of the environment still waiting in the queue stop: the newer
    push is the one to build (the caller commits, with the new deployment)."""
    queued = session.scalars(
        select(Deployment.id).where(
            Deployment.environment_id == environment.id,
            Deployment.status == DeploymentStatus.QUEUED,
        )
    ).all()
    for deployment_id in queued:
        transition(
            session,
            deployment_id=deployment_id,
            to=DeploymentStatus.STOPPED,
            only_from=frozenset({DeploymentStatus.QUEUED}),
            error=f"superseded by a newer push ({_short(commit)}) before it started",
        )
