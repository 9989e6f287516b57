"""The deploy queue: a huey instance built from ``Settings.queue_url``, and the seam to enqueue.

The worker is a separate process that consumes this queue::

    python -m app.workers                      # reads DEVPUSH_* settings
    huey_consumer app.workers.queue.huey       # the same queue, huey's own runner

Services enqueue through :class:`DeployQueue`; tests hand it a huey of their own
(for example ``MemoryHuey`` to inspect what was enqueued, or a ``SqliteHuey`` on
a temp file that a real consumer process reads).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from sqlalchemy.engine import make_url

from app.core.config import get_settings

#: The name of the huey queue; producers and consumers must agree on it.
QUEUE_NAME = "devpush"


class QueueConfigError(ValueError):
    """``queue_url`` names a backend this platform does not run on."""


def huey_from_url(url: str) -> Huey:
    """``sqlite:///path`` → SqliteHuey on that file, ``redis://…`` → RedisHuey."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(QUEUE_NAME, url=url, results=False)
    if url.startswith("sqlite:"):
        database = make_url(url).database
        if not database or database == ":memory:":
            raise QueueConfigError(f"queue_url needs a SQLite file, got {url!r}")
        from pathlib import Path

        Path(database).parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=database, results=False)
    raise QueueConfigError(f"queue_url must be sqlite:///PATH or redis://HOST, got {url!r}")


# Task bodies live in app.workers.tasks; the imports are deferred so that enqueueing
# (the web app) never loads the Docker SDK or opens a database.
def _deploy(deployment_id: str) -> None:
    from app.workers.tasks.context import worker_context
    from app.workers.tasks.deploy import run_deploy

    run_deploy(deployment_id, ctx=worker_context())


def _stop(deployment_id: str) -> None:
    from app.workers.tasks.context import worker_context
    from app.workers.tasks.stop import run_stop

    run_stop(deployment_id, ctx=worker_context())


def _cleanup() -> None:
    from app.workers.tasks.context import worker_context
    from app.workers.tasks.stop import run_cleanup

    run_cleanup(ctx=worker_context())


def _reconcile() -> None:
    from app.workers.tasks.context import worker_context
    from app.workers.tasks.reconcile import run_reconcile

    run_reconcile(ctx=worker_context())


class DeployQueue:
    """Enqueues the worker's jobs on one huey instance (and registers them on it)."""

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self._deploy = huey.task(name="devpush.deploy")(_deploy)
        self._stop = huey.task(name="devpush.stop")(_stop)
        # Stopped runners are removed after the grace period; checking hourly is plenty.
        self._cleanup = huey.periodic_task(crontab(minute="17"), name="devpush.cleanup")(_cleanup)
        # A crash after `running` shows within a minute (huey's finest periodic schedule).
        self._reconcile = huey.periodic_task(crontab(), name="devpush.reconcile")(_reconcile)

    def enqueue_deploy(self, deployment_id: str) -> None:
        self._deploy(deployment_id)

    def enqueue_stop(self, deployment_id: str) -> None:
        self._stop(deployment_id)


@lru_cache
def default_queue() -> DeployQueue:
    """The queue named by the process's settings, built on first use."""
    return DeployQueue(huey_from_url(get_settings().queue_url))


def __getattr__(name: str) -> Any:
    # ``huey_consumer app.workers.queue.huey`` needs a module attribute; building it
    # lazily keeps importing this module free of settings and storage side effects.
    if name == "huey":
        return default_queue().huey
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
