"""The worker's side of routing: the routing table, refreshed from the database.

Only the worker reaches Docker, so only it can tell where a runner answers;
every change to which deployments run ends with :func:`refresh`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Collection, Iterator

from sqlalchemy.exc import SQLAlchemyError

from devpush.models import Deployment
from devpush.services import docker as runner
from devpush.services import networks, proxy_config, routing
from devpush.workers.tasks.context import WorkerContext

log = logging.getLogger(__name__)

#: When Caddy holds no cached answer from before this process's last change to the table.
_settled_at = 0.0
#: Switches under way (see switching): the deployments becoming running, and for each
#: the ones it supersedes. Every refresh routes them as they will be, so a refresh by
#: another job (a stop, the reconcile) never undoes a switch before its rows change.
_pending: dict[str, tuple[str, ...]] = {}
#: One refresh at a time in this process: each writes the whole table it computed.
_lock = threading.Lock()

#: A proxy that is restarting gets a few quick tries before the worker gives up on its config.
ATTEMPTS = 3
RETRY_SECONDS = 0.5


def upstream_of(ctx: WorkerContext, deployment: Deployment) -> tuple[str, int] | None:
    """IP and port of the deployment's runner as the proxy reaches it (None: no runner)."""
    container = runner.get_container(
        ctx.docker, deployment.container_id or runner.container_name(deployment.id)
    )
    if container is None or container.status != "running":
        return None
    return runner.upstream_address(
        container, network=networks.network_of(container, ctx.settings, deployment.project_id)
    )


def refresh(ctx: WorkerContext, *, settle: bool = True) -> bool:
    """Write the routes the database describes; False (logged) when they or Caddy's config
    could not be written.

    Rows of a switch under way count as they will be (see :func:`switching`). Caddy is
    given its config too (it ignores one it already runs), so a proxy restarted without
    its saved config gets it back. With ``settle``, this waits until Caddy has no cached
    answer from before the last change (routing.settle_seconds), this call's or another
    job's (a second stop job finds the table already written): then an old runner may
    stop, and a row may say the new one runs. A failure leaves the previous routes in
    place; the next refresh (at the latest the periodic reconcile job's, every minute)
    repairs them.
    """
    global _settled_at
    with _lock:
        becoming = list(_pending)
        leaving = {deployment for superseded in _pending.values() for deployment in superseded}
        try:
            changed = routing.refresh_routes(
                ctx.sessions,
                ctx.settings,
                lambda d: upstream_of(ctx, d),
                becoming_running=becoming,
                leaving=leaving,
            )
        except SQLAlchemyError as exc:
            log.error("routes not updated: %s", exc)
            return False
        if changed:
            _settled_at = time.monotonic() + routing.settle_seconds(ctx.settings)
        wait = _settled_at - time.monotonic()
    loaded = _load_proxy_config(ctx)
    if settle and wait > 0:
        time.sleep(wait)
    return loaded


@contextlib.contextmanager
def switching(
    ctx: WorkerContext, *, becoming_running: str, leaving: Collection[str]
) -> Iterator[None]:
    """Route a ready deployment as running and the ``leaving`` ones as gone, before the
    rows say so; the body changes the rows.

    On entry the table is written and Caddy's cached answers have expired, so a row
    saying running is true at once. Until exit every refresh keeps the switch, whatever
    the rows say meanwhile.
    """
    with _lock:
        _pending[becoming_running] = tuple(leaving)
    try:
        refresh(ctx)
        yield
    finally:
        with _lock:
            _pending.pop(becoming_running, None)


def _load_proxy_config(ctx: WorkerContext) -> bool:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            proxy_config.load_proxy_config(ctx.settings)
        except proxy_config.ProxyError as exc:
            if attempt == ATTEMPTS:
                log.error("the proxy's config not loaded: %s", exc)
                return False
            time.sleep(RETRY_SECONDS)
        else:
            return True
    return False


if __name__ == "__main__":
    # ``python -m devpush.workers.tasks.routes``: the routes and the proxy's config, once (the
    # local run's start).
    import sys

    from devpush.workers.tasks.context import worker_context

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(0 if refresh(worker_context()) else 1)
