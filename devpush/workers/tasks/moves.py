"""Moving a running swarm deployment to another host: the same commit deployed again as
a new deployment of its environment, which ``run_deploy`` follows to ``running``,
switches the URLs to, and supersedes the old one for (its runner scaled to 0).

The drain job (``drain.py``) moves a paused host's deployments this way, the host watch
(``devpush/workers/host_watch.py``) a down host's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from devpush.core.db import session_scope
from devpush.models import Deployment, DeploymentStatus
from devpush.services.cluster.nodes import runner_services_on
from devpush.services.deployments import queue_deployment
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.deploy import run_deploy


class _RunHere:
    """A ``DeployJobs`` that enqueues nothing: the mover runs each deploy itself, in
    turn, so it knows when every runner has moved."""

    def enqueue_deploy(self, deployment_id: str) -> None:
        pass

    def enqueue_stop(self, deployment_id: str) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Move:
    """One deployment's move: its new deployment (None: the old one no longer ran), and
    that one's status and error once its deploy ended."""

    old_id: str
    new_id: str | None = None
    status: DeploymentStatus | None = None
    error: str | None = None

    @property
    def moved(self) -> bool:
        return self.status is DeploymentStatus.RUNNING


def running_on(ctx: WorkerContext, node_id: str) -> list[str]:
    """The running deployments with a running runner task on the node, oldest first."""
    tasks = ctx.docker.api.tasks(filters={"node": node_id})
    services = runner_services_on(tasks, node_id)
    if not services:
        return []
    with ctx.sessions() as session:
        return list(
            session.scalars(
                select(Deployment.id)
                .where(
                    Deployment.status == DeploymentStatus.RUNNING,
                    Deployment.container_id.in_(services),
                )
                .order_by(Deployment.created_at)
            ).all()
        )


def _queue_again(ctx: WorkerContext, deployment_id: str) -> str | None:
    """A new queued deployment of the same environment and commit; None: it is gone."""
    with session_scope(ctx.sessions) as session:
        old = session.get(Deployment, deployment_id)
        if old is None or old.status is not DeploymentStatus.RUNNING:
            return None
        return queue_deployment(
            session,
            _RunHere(),
            created_by=None,
            project_id=old.project_id,
            environment_id=old.environment_id,
            branch=old.branch,
            requested_commit=old.commit_sha or old.requested_commit,
            trigger=old.trigger,
        ).id


def move_deployment(ctx: WorkerContext, deployment_id: str) -> Move:
    """Deploy the running deployment's commit again (Swarm places it on a host that
    takes runners) and wait for its deploy to end."""
    new_id = _queue_again(ctx, deployment_id)
    if new_id is None:
        return Move(deployment_id)
    run_deploy(new_id, ctx=ctx)
    with ctx.sessions() as session:
        row = session.get(Deployment, new_id)
        return Move(
            deployment_id,
            new_id,
            row.status if row is not None else None,
            row.error if row is not None else "its row was deleted",
        )
