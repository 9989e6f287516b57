"""The worker's host watch (swarm mode): a host that dies gets its deployments moved.

Swarm replaces no task of a ``restart: none`` service (a runner: an app that exits failed
its deploy) when its host goes down: the task's desired state becomes ``shutdown`` and
the manager still lists it ``running``. So this thread asks the manager every
``host_watch_interval_seconds`` for hosts that are not ``ready``. When one goes down it
refreshes the proxy table at once (the URLs stop pointing at a dead task where another
runs), then moves each running deployment with a task there as the drain job does
(``devpush/workers/tasks/moves.py``): the same commit deployed again in its
environment, the URL switched, the old one superseded. One that cannot be placed (its
host label matches no other ready, active host; or its new deployment failed) is marked
failed, "lost", with the reason, and notified like any failure.

Any number of workers may run it: the host's lease (``host_leases.py``) lets one of them
move a host's deployments at a time (and never during its drain), and a deployment is
moved or marked lost only while it is still ``running`` (a conditional update).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select

from devpush.core.db import session_scope
from devpush.models import Deployment, DeploymentStatus, Project, utcnow
from devpush.services import runners
from devpush.services.cluster.nodes import Host, read_hosts, takes_runners
from devpush.services.deployments import transition
from devpush.services.notifications.messages import FAILED
from devpush.workers.host_leases import FAILOVER, HostLeases
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.moves import move_deployment, running_on
from devpush.workers.tasks.notify import announce
from devpush.workers.tasks.reconcile import abandoned_after
from devpush.workers.threads import start_thread

log = logging.getLogger(__name__)

#: A manager that just restarted (or a new leader) lists every host ``unknown`` until it
#: hears from it again: such a host counts as dead only once it stayed so this long (the
#: manager's own grace before ``down`` is three heartbeats, 15 s by default).
UNKNOWN_GRACE: Final = timedelta(seconds=30)


def is_dead(state: str, not_ready_for: timedelta) -> bool:
    """Whether a host whose state is ``state`` (not ready for ``not_ready_for``) is gone."""
    if state == "ready":
        return False
    return state != "unknown" or not_ready_for >= UNKNOWN_GRACE


def lost_reason(host: Host, down_at: datetime, why: str) -> str:
    """The error a deployment that could not leave a dead host shows."""
    name = host.hostname or host.id
    return f"lost: host {name} went down at {down_at:%Y-%m-%d %H:%M:%S} UTC; {why}"


def no_place_reason(hosts: list[Host], host_label: str | None) -> str | None:
    """Why no host can take the deployment's new runner; None: some host can."""
    if any(takes_runners(host, host_label) for host in hosts):
        return None
    if host_label:
        return f"no other ready, active host has the label {host_label}"
    return "no other host is ready and active"


@dataclass
class HostWatch:
    """The watch of one worker process: which hosts it saw go down, and when."""

    ctx: WorkerContext
    leases: HostLeases
    #: When this watch first saw each host that is not ready (a "lost" reason says it).
    down_since: dict[str, datetime] = field(default_factory=dict)
    #: The hosts counted dead (their deployments are moved or marked lost).
    dead: set[str] = field(default_factory=set)

    def tick(self) -> None:
        """One round: note the dead hosts, move the deployments of each."""
        hosts = read_hosts(self.ctx.docker)
        now = utcnow()
        since = self.down_since
        self.down_since = {h.id: since.get(h.id) or now for h in hosts if h.state != "ready"}
        down = {
            host.id: host
            for host in hosts
            if host.id in self.down_since and is_dead(host.state, now - self.down_since[host.id])
        }
        newly = [node_id for node_id in down if node_id not in self.dead]
        self.dead = set(down)
        if newly:
            log.warning("hosts down: %s", ", ".join(down[i].hostname or i for i in newly))
            # At once: where another task of a deployment runs, its URL goes there.
            self.ctx.proxy_table.refresh(self.ctx, settle=False)
        for host in down.values():
            self.fail_over(host, hosts)

    def fail_over(self, host: Host, hosts: list[Host]) -> None:
        """Move the host's running deployments elsewhere, holding its lease."""
        stranded = running_on(self.ctx, host.id)
        if not stranded:
            return
        lease_seconds = abandoned_after(self.ctx).total_seconds()
        held = self.leases.take(host.id, FAILOVER, lease_seconds)
        if held is not None:
            return  # another worker moves them (or a drain of the host runs)
        try:
            for deployment_id in running_on(self.ctx, host.id):
                self.leases.renew(host.id, FAILOVER, lease_seconds)
                self.move(deployment_id, host, hosts)
        finally:
            self.leases.release(host.id)

    def move(self, deployment_id: str, host: Host, hosts: list[Host]) -> None:
        down_at = self.down_since.get(host.id) or utcnow()
        with self.ctx.sessions() as session:
            label = session.scalar(
                select(Project.placement_label)
                .join(Deployment, Deployment.project_id == Project.id)
                .where(Deployment.id == deployment_id)
            )
        why = no_place_reason(hosts, label)
        if why is None:
            move = move_deployment(self.ctx, deployment_id)
            if move.new_id is None or move.moved:
                if move.moved:
                    log.info("deployment %s moved off down host %s: now %s",
                             deployment_id, host.hostname, move.new_id)  # fmt: skip
                return
            why = f"its new deployment {move.new_id} failed: {move.error or 'no reason'}"
        self.mark_lost(deployment_id, lost_reason(host, down_at, why))

    def mark_lost(self, deployment_id: str, reason: str) -> None:
        """Fail a deployment that stays on the dead host, say why, and notify."""
        with session_scope(self.ctx.sessions) as session:
            row = session.get(Deployment, deployment_id)
            runner_ref = row.container_id if row is not None else None
            lost = transition(
                session,
                deployment_id=deployment_id,
                to=DeploymentStatus.FAILED,
                only_from=frozenset({DeploymentStatus.RUNNING}),
                error=reason,
            )
        if not lost:
            return
        log.warning("deployment %s: %s", deployment_id, reason)
        announce(self.ctx, deployment_id, FAILED)
        if runner_ref:
            # Its task must not start serving again when the host comes back.
            runners.stop_runner(self.ctx.docker, self.ctx.settings, runner_ref)
        self.ctx.proxy_table.refresh(self.ctx, settle=False)


def watch(hosts: HostWatch, stop: threading.Event, interval: float) -> None:
    """Run rounds until ``stop`` is set; a failed round is logged (once while it fails
    the same way: the manager may stay away for minutes) and tried again."""
    last_error = ""
    while not stop.wait(interval):
        try:
            hosts.tick()
            last_error = ""
        except Exception as exc:  # the manager or the database went away mid-round
            if str(exc) != last_error:
                log.exception("host watch round failed; retrying every %g s", interval)
            last_error = str(exc)


def start_host_watch(ctx: WorkerContext) -> threading.Event | None:
    """Start the watch in a daemon thread (swarm mode only); set the returned event to
    stop it."""
    if not ctx.settings.swarm:
        return None
    from devpush.workers.queue import default_queue

    queue = default_queue()
    hosts = HostWatch(replace(ctx, jobs=ctx.jobs or queue), HostLeases(queue.huey.storage))
    interval = ctx.settings.host_watch_interval_seconds
    return start_thread("host-watch", lambda stop: watch(hosts, stop, interval))
