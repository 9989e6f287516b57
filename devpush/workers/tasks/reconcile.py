"""Notice runners that died after their deployment became ``running``.

The deploy job watches a runner only until its port answers. An app that
crashes later (or is killed, or whose container is removed by hand) would stay
``running`` forever; this periodic job marks it ``failed`` with the runner's
exit code and its last lines (the start step's failure record), as hosted
platforms show a crashed app. It also refreshes the routing table and the proxy's config each time.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from devpush.core.db import session_scope
from devpush.models import Deployment, DeploymentStatus, DeployStep
from devpush.services import docker as runner
from devpush.services import failure
from devpush.services.deployments import transition
from devpush.services.notifications.messages import FAILED
from devpush.workers.tasks import routes
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.notify import announce

log = logging.getLogger(__name__)


def run_reconcile(*, ctx: WorkerContext) -> list[str]:
    """Mark running deployments whose runner is no longer running as failed; their ids."""
    with ctx.sessions() as session:
        running = session.execute(
            select(Deployment.id, Deployment.container_id).where(
                Deployment.status == DeploymentStatus.RUNNING
            )
        ).all()
    failed: list[str] = []
    for deployment_id, container_id in running:
        container = runner.get_container(
            ctx.docker, container_id or runner.container_name(deployment_id)
        )
        if container is not None and container.status in ("running", "restarting", "paused"):
            continue
        if container is None:
            values: dict[str, object] = {"error": "runner container disappeared while running"}
        else:
            code = int(container.attrs["State"]["ExitCode"])
            values = {
                "error": f"App exited with code {code} while running",
                **failure.runner_failure(
                    runner.output_tail(container, failure.TAIL_LINES),
                    exit_code=code,
                    step=DeployStep.START,
                    max_line_chars=ctx.settings.log_line_max_chars,
                ),
            }
        with session_scope(ctx.sessions) as session:
            # only_from RUNNING: a stop or supersede that raced us wins.
            if transition(
                session,
                deployment_id=deployment_id,
                to=DeploymentStatus.FAILED,
                only_from=frozenset({DeploymentStatus.RUNNING}),
                **values,
            ):
                failed.append(deployment_id)
    for deployment_id in failed:
        announce(ctx, deployment_id, FAILED)
    if failed:
        log.info("%d running deployments had exited: marked failed", len(failed))
    # Every minute: the crashed ones' routes go, and a restarted proxy gets its config
    # back. Nothing stops after it, so no need to wait for the proxy's cached answers.
    routes.refresh(ctx, settle=False)
    return failed
