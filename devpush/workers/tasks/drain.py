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
The job holds the host's lease (``devpush/workers/host_leases.py``), which the drain call
took when it queued it: a second drain, or the failover of the host, waits its turn.
"""

from __future__ import annotations

import logging

from devpush.models import Deployment, DeploymentStatus
from devpush.services.cluster.host_admin import HostChange, change_host
from devpush.workers.host_leases import DRAIN, HostLeases
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.moves import move_deployment, running_on
from devpush.workers.tasks.reconcile import abandoned_after

log = logging.getLogger(__name__)


def run_drain(node_id: str, *, ctx: WorkerContext, leases: HostLeases | None = None) -> list[str]:
    """Move every running deployment off ``node_id``, then drain it; the new deployments.

    ``leases``: the queue's; the host's lease is held (renewed before each move) and
    released at the end, pass or fail."""
    # A move takes at most a deploy's limits (the clone, then the ready check).
    lease_seconds = abandoned_after(ctx).total_seconds()
    try:
        moved: list[str] = []
        stuck: list[str] = []
        for deployment_id in running_on(ctx, node_id):
            if leases is not None:
                leases.renew(node_id, DRAIN, lease_seconds)
            move = move_deployment(ctx, deployment_id)
            if move.new_id is None:
                continue
            if move.moved:
                moved.append(move.new_id)
            elif _still_runs(ctx, deployment_id):
                stuck.append(deployment_id)
                log.warning(
                    "drain of %s: deployment %s could not move (%s failed); the host stays paused",
                    node_id, deployment_id, move.new_id,
                )  # fmt: skip
        if stuck:
            return moved
        change_host(ctx.settings, node_id, HostChange(availability="drain"))
        log.info("drained %s: %d deployment(s) moved", node_id, len(moved))
        return moved
    finally:
        if leases is not None:
            leases.release(node_id)


def _still_runs(ctx: WorkerContext, deployment_id: str) -> bool:
    with ctx.sessions() as session:
        row = session.get(Deployment, deployment_id)
        return row is not None and row.status is DeploymentStatus.RUNNING
