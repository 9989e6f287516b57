"""Notice runners that died after their deployment became ``running``, and builds whose
worker died.

The deploy job watches a runner only until its port answers. An app that
crashes later (or is killed, or whose container is removed by hand) would stay
``running`` forever; this periodic job marks it ``failed`` with the runner's
exit code and its last lines (the start step's failure record), as hosted
platforms show a crashed app; "out of memory" when the kernel killed it at its limit.
A runner the health check is restarting right now is left alone. It also refreshes the
proxy table and the proxy's config each time.

A deployment stays ``building`` only while a worker's job follows it, and a job gives up
after its clone's and its ready check's time limits. One still ``building`` well past both
lost its worker (restarted or killed mid-deploy): it becomes ``failed``, saying so, and its
runner stops. Any number of workers may run this: a live job is never that old.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import docker.errors
from docker.models.containers import Container
from sqlalchemy import select

from devpush.core.db import session_scope
from devpush.models import Deployment, DeploymentStatus, DeployStep, utcnow
from devpush.services import failure, networks, resources, runner, runners
from devpush.services.cluster import runner_services
from devpush.services.deployments import transition
from devpush.services.git import GIT_TIMEOUT_SECONDS
from devpush.services.notifications.messages import FAILED
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.notify import announce

log = logging.getLogger(__name__)

#: Beyond a job's own limits (the clone, then the ready check), before a build counts as
#: abandoned: the steps between them and a loaded machine.
ABANDONED_MARGIN_SECONDS = 120
#: A runner restarted this long ago (and its stop timeout) may still be coming back up.
RESTART_SETTLE_SECONDS = 30
ABANDONED_ERROR = (
    "the deploy worker stopped during this deployment (restarted or crashed): deploy again"
)


def run_reconcile(*, ctx: WorkerContext) -> list[str]:
    """Mark running deployments whose runner is no longer running as failed; their ids."""
    with ctx.sessions() as session:
        running = session.execute(
            select(Deployment.id, Deployment.container_id, Deployment.health_restart_times).where(
                Deployment.status == DeploymentStatus.RUNNING
            )
        ).all()
    failed: list[str] = []
    for deployment_id, container_id, restart_times in running:
        if _restarting(ctx, restart_times or []):
            continue
        container = runners.get_runner(
            ctx.docker, ctx.settings, container_id or runner.container_name(deployment_id)
        )
        if fail_stopped_runner(ctx, deployment_id, container):
            failed.append(deployment_id)
    if failed:
        log.info("%d running deployments had exited: marked failed", len(failed))
    failed += fail_abandoned_builds(ctx=ctx)
    for deployment_id in failed:
        announce(ctx, deployment_id, FAILED)
    # Every minute: the crashed ones' host entries go, and a restarted proxy gets its config
    # and its runner networks back. Nothing stops after it, so no need to wait for the
    # proxy's cached answers.
    rejoin_proxy(ctx)
    ctx.proxy_table.refresh(ctx, settle=False)
    return failed


def _restarting(ctx: WorkerContext, restart_times: list[str]) -> bool:
    """Whether the health check restarted the runner a moment ago (it may be coming up)."""
    settle = timedelta(seconds=ctx.settings.runner_stop_timeout_seconds + RESTART_SETTLE_SECONDS)
    return any(utcnow() - datetime.fromisoformat(t) < settle for t in restart_times)


def fail_stopped_runner(
    ctx: WorkerContext, deployment_id: str, container: Container | None
) -> bool:
    """Mark a running deployment whose runner no longer runs as failed, with the runner's
    last lines; whether it was (the health check's thread asks this too)."""
    if container is not None and container.status in ("running", "restarting", "paused"):
        return False
    if container is None:
        values: dict[str, object] = {"error": "runner container disappeared while running"}
    else:
        code = int(container.attrs["State"]["ExitCode"])
        record = failure.runner_failure(
            runner.output_tail(container, failure.TAIL_LINES),
            exit_code=code,
            step=DeployStep.START,
            max_line_chars=ctx.settings.log_line_max_chars,
        )
        error = f"App exited with code {code} while running"
        if resources.out_of_memory(container.attrs):
            error = resources.out_of_memory_message(container.attrs, what="The app")
            record["failure_lines"] = failure.cap_lines(
                [*record["failure_lines"], f"{runner.STEP_PREFIX}{error}"],
                max_line_chars=ctx.settings.log_line_max_chars,
            )
        values = {"error": error, **record}
    with session_scope(ctx.sessions) as session:
        # only_from RUNNING: a stop or supersede that raced us wins.
        return transition(
            session,
            deployment_id=deployment_id,
            to=DeploymentStatus.FAILED,
            only_from=frozenset({DeploymentStatus.RUNNING}),
            **values,
        )


def rejoin_proxy(ctx: WorkerContext) -> None:
    """The proxy's container back on every live runner's network (logged if it fails)."""
    try:
        if ctx.settings.swarm:
            live = runner_services.live_overlays(ctx.docker, ctx.settings)
            networks.attach_proxy(ctx.docker, ctx.settings, live)
        else:
            networks.rejoin_proxy(ctx.docker, ctx.settings)
    except (networks.NetworkError, docker.errors.APIError) as exc:
        log.error("the proxy not connected to the runner networks: %s", exc)


def abandoned_after(ctx: WorkerContext) -> timedelta:
    """How long a deployment may stay ``building`` while a live job still follows it."""
    limits = GIT_TIMEOUT_SECONDS + ctx.settings.runner_ready_timeout_seconds
    return timedelta(seconds=limits + ABANDONED_MARGIN_SECONDS)


def fail_abandoned_builds(*, ctx: WorkerContext) -> list[str]:
    """Mark deployments ``building`` for longer than any live job can as failed, stop
    their runners; their ids."""
    cutoff = utcnow() - abandoned_after(ctx)
    with ctx.sessions() as session:
        stale = session.execute(
            select(Deployment.id, Deployment.container_id).where(
                Deployment.status == DeploymentStatus.BUILDING,
                Deployment.started_at < cutoff,
            )
        ).all()
    failed: list[str] = []
    for deployment_id, container_id in stale:
        with session_scope(ctx.sessions) as session:
            if not transition(
                session,
                deployment_id=deployment_id,
                to=DeploymentStatus.FAILED,
                only_from=frozenset({DeploymentStatus.BUILDING}),
                error=ABANDONED_ERROR,
            ):
                continue
        failed.append(deployment_id)
        runners.stop_runner(
            ctx.docker, ctx.settings, container_id or runner.container_name(deployment_id)
        )
    if failed:
        log.warning("%d deployments lost their deploy worker: marked failed", len(failed))
    return failed


if __name__ == "__main__":
    # ``python -m devpush.workers.tasks.reconcile``: one pass now, not at the next minute
    # (after the proxy's container alone was re-created: it is back on every runner network).
    from devpush.workers.tasks.context import worker_context

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    run_reconcile(ctx=worker_context())
