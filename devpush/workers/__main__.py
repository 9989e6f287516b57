"""The deploy worker: ``python -m devpush.workers`` runs the deploy queue until SIGINT/SIGTERM.

``python -m devpush.workers --refresh-proxy-table``: write the proxy table and give Caddy its
config once, then exit (the local run's start).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Final

from devpush.core.config import get_settings
from devpush.workers.drains import start_drains
from devpush.workers.health_watch import start_health_watch
from devpush.workers.host_watch import start_host_watch
from devpush.workers.metrics_thread import start_metrics_sampler
from devpush.workers.queue import consumer_polling, default_queue, job_context
from devpush.workers.store_watch import start_store_watch
from devpush.workers.tasks import reconcile
from devpush.workers.tasks.context import WorkerContext, worker_context

#: The threads beside the queue's consumer, started in this order; each ends with the process.
BACKGROUND_THREADS: Final[tuple[tuple[str, Callable[[WorkerContext], object]], ...]] = (
    ("log store watch", start_store_watch),  # a killed store's lines put back (logging.md)
    ("log drains", start_drains),  # the projects' drains (logging.md, "Log drains")
    ("health checks", start_health_watch),  # checks and bounded restarts (health-checks.md)
    ("metrics sampler", start_metrics_sampler),  # CPU, memory, network (metrics.md)
    ("host watch", start_host_watch),  # swarm: a down host's deployments move (scaling.md)
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devpush.workers", description=__doc__)
    parser.add_argument(
        "--refresh-proxy-table",
        action="store_true",
        help="write the proxy table and the proxy's config once, then exit (1: not written)",
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.refresh_proxy_table:
        ctx = worker_context()
        sys.exit(0 if ctx.proxy_table.refresh(ctx, settle=False) else 1)
    # The readiness probe polls every half second: its requests are not news. (It also
    # keeps drains' URLs, whose query may hold a sink's key, out of the log.)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The proxy table at once: a migration may have left it empty, or runners moved.
    try:
        ctx = worker_context()
        reconcile.rejoin_proxy(ctx)
        ctx.proxy_table.refresh(ctx, settle=False)
    except Exception:  # Docker or the database not there yet: the reconcile job retries
        logging.getLogger(__name__).exception("proxy table not refreshed at start")
    for name, start in BACKGROUND_THREADS:
        try:
            start(job_context())
        except Exception:  # Docker or the database not there: a restart starts it
            logging.getLogger(__name__).exception("%s not started", name)
    huey = default_queue().huey
    consumer = huey.create_consumer(
        workers=get_settings().worker_threads,
        worker_type="thread",
        periodic=True,
        **consumer_polling(huey),
    )
    consumer.run()


if __name__ == "__main__":
    main()
