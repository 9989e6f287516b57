"""The drain job (swarm mode): move a paused host's running deployments elsewhere with the
usual zero-failure switch, then drain the host.

Letting Swarm move a task on a drain gives it a new address the proxy does not know yet,
so the URL fails until the next switch. Instead, while the host is paused (it keeps its
tasks and takes no new one: ``devpush.services.cluster.host_admin``), each running
deployment on it is deployed again, same commit, as a new deployment: Swarm places its
service on another host, ``run_deploy`` waits until it is ready, moves the URLs to it,
supersedes the old one and stops it (scale to 0: its container and log stay for the
collector). Only once none runs there is the host set to ``drain``. A deployment that
cannot move (its new deployment failed: say, its host label only matches this host)
keeps running and the host stays paused, so no URL breaks; the failed deployment says why.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from devpush.core.db import session_scope
from devpush.models import Deployment, DeploymentStatus
from devpush.services.cluster import runner_services
from devpush.services.cluster.host_admin import HostChange, change_host
from devpush.services.deployments import queue_deployment
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.deploy import run_deploy

log = logging.getLogger(__name__)


class _RunHere:
    """A ``DeployJobs`` that enqueues nothing: the drain job runs each deploy itself, in
    turn, so it knows when every runner has moved."""

    def enqueue_deploy(self, deployment_id: str) -> None:
        pass

    def enqueue_stop(self, deployment_id: str) -> None:
        pass


def running_on(ctx: WorkerContext, node_id: str) -> list[str]:
    """The running deployments whose runner task runs on the node, oldest first."""
    with session_scope(ctx.sessions) as session:
        rows = session.scalars(
            select(Deployment)
            .where(
                Deployment.status == DeploymentStatus.RUNNING,
                Deployment.container_id.is_not(None),
            )
            .order_by(Deployment.created_at)
        ).all()
        candidates = [(row.id, str(row.container_id)) for row in rows]
    found: list[str] = []
    for deployment_id, service_id in candidates:
        task = runner_services.get_service_task(ctx.docker, ctx.settings, service_id)
        if task is not None and node_id in task.nodes() and task.status == "running":
            found.append(deployment_id)
    return found


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


def _status(ctx: WorkerContext, deployment_id: str) -> DeploymentStatus | None:
    with session_scope(ctx.sessions) as session:
        row = session.get(Deployment, deployment_id)
        return row.status if row is not None else None


def run_drain(node_id: str, *, ctx: WorkerContext) -> list[str]:
    """Move every running deployment off ``node_id``, then drain it; the new deployments."""
    moved: list[str] = []
    stuck: list[str] = []
    for deployment_id in running_on(ctx, node_id):
        new_id = _queue_again(ctx, deployment_id)
        if new_id is None:
            continue
        run_deploy(new_id, ctx=ctx)
        if _status(ctx, new_id) is DeploymentStatus.RUNNING:
            moved.append(new_id)
        elif _status(ctx, deployment_id) is DeploymentStatus.RUNNING:
            stuck.append(deployment_id)
            log.warning(
                "drain of %s: deployment %s could not move (%s failed); the host stays paused",
                node_id, deployment_id, new_id,
            )  # fmt: skip
    if stuck:
        return moved
    change_host(ctx.settings, node_id, HostChange(availability="drain"))
    log.info("drained %s: %d deployment(s) moved", node_id, len(moved))
    return moved
