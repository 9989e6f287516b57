"""The worker's log drains: one thread runs every drain's loop (docs/logging.md, "Log drains").

A thread of the worker process, like the store watch: the drains' loops are asyncio tasks
on its own event loop (``devpush/services/drains/delivery.py``), so a slow receiver
waits on its own task only. One worker should run it: two would each send every line
(the receivers would see it twice; delivery is at least once either way).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from functools import partial

import httpx

from devpush.core.crypto import fernet_for
from devpush.services.drains.delivery import DrainPump, run_fleet
from devpush.services.log_store import log_store, open_http_client
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.threads import start_thread

log = logging.getLogger(__name__)


async def _serve(ctx: WorkerContext, stop: asyncio.Event) -> None:
    async with open_http_client(ctx.settings) as store_http, httpx.AsyncClient() as http:
        pump = DrainPump(
            sessions=ctx.sessions,
            store=log_store(ctx.settings, store_http),
            http=http,
            fernet=fernet_for(ctx.settings.secret_key.get_secret_value()),
            settings=ctx.settings,
        )
        await run_fleet(pump, stop=stop)


def _run(ctx: WorkerContext, stopped: threading.Event) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(
            target=lambda: (stopped.wait(), loop.call_soon_threadsafe(stop.set)),
            name="log-drains-stop",
            daemon=True,
        ).start()
        await _serve(ctx, stop)

    try:
        asyncio.run(main())
    except Exception:  # the thread must not die silently: say why drains stopped
        log.exception("log drains stopped")


def start_drains(ctx: WorkerContext) -> threading.Event:
    """Start the drains' thread (a daemon); set the returned event to stop it."""
    return start_thread("log-drains", partial(_run, ctx))
