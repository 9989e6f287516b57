"""The worker's watch on the log store: a killed VictoriaLogs gets its lost lines back.

A thread of the worker process polls the store every half second
(``devpush/services/store_repair.py`` does the work), so a repair starts within a second
of the store answering again; huey's periodic tasks run at most once a minute. One
worker per Docker engine should run it: two on one engine could both insert a lost line
(the views show such a repeat once).
"""

from __future__ import annotations

import logging
import threading
from functools import partial

from devpush.services.store_repair import POLL_SECONDS, StoreRepair, store_repair
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.threads import start_thread

log = logging.getLogger(__name__)


def watch(repair: StoreRepair, stop: threading.Event) -> None:
    """Poll until ``stop`` is set; a failed round is logged and tried again."""
    while not stop.wait(POLL_SECONDS):
        try:
            repair.tick()
        except Exception:  # the store or Docker went away mid-round: the window stays pending
            log.exception("log store repair failed; retrying")


def start_store_watch(ctx: WorkerContext) -> threading.Event | None:
    """Start the watch in a daemon thread; set the returned event to stop it. None when
    the configured store needs no repair."""
    repair = store_repair(ctx.settings, ctx.docker)
    if repair is None:
        return None
    return start_thread("store-watch", partial(watch, repair))
