"""The worker's side of routing: the proxy's routes, refreshed from the database.

Only the worker reaches Docker, so only it can tell where a runner answers;
every change to which deployments run ends with :func:`refresh`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from app.models import Deployment
from app.services import docker as runner
from app.services import routing
from app.workers.tasks.context import WorkerContext

log = logging.getLogger(__name__)

#: A proxy that is restarting gets a few quick tries before the worker gives up.
ATTEMPTS = 3
RETRY_SECONDS = 0.5


def upstream_of(ctx: WorkerContext, deployment: Deployment) -> str | None:
    """``host:port`` of the deployment's runner as the proxy reaches it (None: no runner)."""
    container = runner.get_container(
        ctx.docker, deployment.container_id or runner.container_name(deployment.id)
    )
    if container is None or container.status != "running":
        return None
    return runner.upstream_address(
        container, via=ctx.settings.runner_address, network=ctx.settings.runner_network
    )


def refresh(
    ctx: WorkerContext, *, becoming_running: str | None = None, leaving: Collection[str] = ()
) -> bool:
    """Load the routes the database describes; False (logged) when the proxy never took them.

    A failure leaves the proxy's previous routes in place; the next refresh (at the latest
    the periodic reconcile job's, every minute) repairs them. ``becoming_running`` and
    ``leaving``: rows about to change, routed as they will be (see routing.live_deployments).
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            routing.refresh_routes(
                ctx.sessions,
                ctx.settings,
                lambda d: upstream_of(ctx, d),
                becoming_running=becoming_running,
                leaving=leaving,
            )
        except routing.ProxyError as exc:
            if attempt == ATTEMPTS:
                log.error("routes not updated: %s", exc)
                return False
            time.sleep(RETRY_SECONDS)
        else:
            return True
    return False


if __name__ == "__main__":
    # ``python -m app.workers.tasks.routes``: load the routes once (the local run's start).
    import sys

    from app.workers.tasks.context import worker_context

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(0 if refresh(worker_context()) else 1)
