"""The deploy worker: ``python -m devpush.workers`` runs the deploy queue until SIGINT/SIGTERM."""

from __future__ import annotations

import logging

from devpush.core.config import get_settings
from devpush.workers.queue import consumer_polling, default_queue
from devpush.workers.tasks import reconcile, routes
from devpush.workers.tasks.context import worker_context


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The readiness probe polls every half second: its requests are not news.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The routing table at once: a migration may have left it empty, or runners moved.
    try:
        ctx = worker_context()
        reconcile.rejoin_proxy(ctx)
        routes.refresh(ctx, settle=False)
    except Exception:  # Docker or the database not there yet: the reconcile job retries
        logging.getLogger(__name__).exception("routes not refreshed at start")
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
