"""The deploy queue: a huey instance built from ``Settings.queue_url``, and the seam to enqueue.

The worker is a separate process that consumes this queue::

    python -m devpush.workers                      # reads DEVPUSH_* settings
    huey_consumer devpush.workers.queue.huey -d 0.1 -m 0.25   # the same, huey's own runner

How fast an idle worker notices a job (the deploy call to ``building``):

- Redis (Compose) is read in blocking mode: an idle worker waits in ``BRPOP`` and wakes
  the moment a job is pushed, so there is no polling and no back-off at all.
- SQLite (the local run, tests) can only be polled. huey's default back-off grows the pause
  between empty polls by 15 % up to 10 s, so after a quiet minute a deploy waited seconds.
  :data:`SQLITE_POLLING` caps the pause at 0.25 s: a few cheap reads a second per worker
  thread, and a deploy starts within a quarter second however long the worker sat idle.

Services enqueue through :class:`DeployQueue`; tests hand it a huey of their own
(for example ``MemoryHuey`` to inspect what was enqueued, or a ``SqliteHuey`` on
a temp file that a real consumer process reads).
"""

from __future__ import annotations

from dataclasses import astuple, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from huey import Huey, RedisHuey, SqliteHuey, crontab
from sqlalchemy.engine import make_url

from devpush.core.config import get_settings
from devpush.services.jobs import Notice

if TYPE_CHECKING:
    from devpush.workers.tasks.context import WorkerContext

#: The name of the huey queue; producers and consumers must agree on it.
QUEUE_NAME = "devpush"

#: The consumer's polling of a queue that can't block (SQLite): first pause, growth, longest.
SQLITE_POLLING: Final = {"initial_delay": 0.1, "backoff": 1.15, "max_delay": 0.25}


#: How long a queued drain holds its host's lease before its job starts and renews it (a
#: drain lost with its worker frees the host after this).
DRAIN_QUEUED_SECONDS: Final = 900


class QueueConfigError(ValueError):
    """``queue_url`` names a backend this platform does not run on."""


def huey_from_url(url: str) -> Huey:
    """``sqlite:///path`` → SqliteHuey on that file, ``redis://…`` → RedisHuey."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        # Blocking reads: an idle worker is woken by the push itself (see the module notes).
        return RedisHuey(QUEUE_NAME, url=url, results=False, blocking=True)
    if url.startswith("sqlite:"):
        database = make_url(url).database
        if not database or database == ":memory:":
            raise QueueConfigError(f"queue_url needs a SQLite file, got {url!r}")
        from pathlib import Path

        Path(database).parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=database, results=False)
    raise QueueConfigError(f"queue_url must be sqlite:///PATH or redis://HOST, got {url!r}")


# Task bodies live in devpush.workers.tasks; the imports are deferred so that enqueueing
# (the web app) never loads the Docker SDK or opens a database.
def job_context() -> WorkerContext:
    """The worker's context, with this queue to enqueue follow-up jobs (notifications) on:
    the jobs' and the background threads' (a crash the health watch finds is notified)."""
    from devpush.workers.tasks.context import worker_context

    return replace(worker_context(), jobs=default_queue())


def _deploy(deployment_id: str) -> None:
    from devpush.workers.tasks.deploy import run_deploy

    run_deploy(deployment_id, ctx=job_context())


def _stop(deployment_id: str) -> None:
    from devpush.workers.tasks.context import worker_context
    from devpush.workers.tasks.stop import run_stop

    run_stop(deployment_id, ctx=worker_context())


def _cleanup() -> None:
    from devpush.workers.tasks.context import worker_context
    from devpush.workers.tasks.stop import run_cleanup

    run_cleanup(ctx=worker_context())


def _reconcile() -> None:
    from devpush.workers.tasks.reconcile import run_reconcile

    run_reconcile(ctx=job_context())


def _notify(*fields: Any) -> None:
    """The notify task: its arguments are a :class:`Notice`'s fields, in order."""
    from devpush.workers.tasks.notify import run_notify

    run_notify(Notice(*fields), ctx=job_context())


def _poll() -> None:
    from devpush.workers.tasks.context import worker_context
    from devpush.workers.tasks.poll import run_poll

    ctx = worker_context()
    run_poll(settings=ctx.settings, sessions=ctx.sessions, queue=default_queue())


def _check_domain(domain_id: str) -> None:
    from devpush.workers.tasks.context import worker_context
    from devpush.workers.tasks.domains import run_domain_check

    run_domain_check(domain_id, ctx=worker_context(), jobs=default_queue())


def _sweep_domains() -> None:
    from devpush.workers.tasks.context import worker_context
    from devpush.workers.tasks.domains import run_domain_sweep

    run_domain_sweep(ctx=worker_context(), jobs=default_queue())


def _refresh_routes() -> None:
    from devpush.workers.tasks.context import worker_context
    from devpush.workers.tasks.domains import run_routes_refresh

    run_routes_refresh(ctx=worker_context())


def _drain(node_id: str) -> None:
    from devpush.workers.host_leases import HostLeases
    from devpush.workers.tasks.drain import run_drain

    run_drain(node_id, ctx=job_context(), leases=HostLeases(default_queue().huey.storage))


def consumer_polling(huey: Huey) -> dict[str, float]:
    """The consumer's back-off options for ``huey``: none needed when its storage blocks."""
    return {} if huey.storage.blocking else dict(SQLITE_POLLING)


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
        self._notify = huey.task(name="devpush.notify")(_notify)
        # The poller (projects with poll_interval_seconds): each minute, the due ones.
        self._poll = huey.periodic_task(crontab(), name="devpush.poll")(_poll)
        # Custom domains: a DNS check (retried on the schedule), a refresh after a removal.
        self._check_domain = huey.task(name="devpush.domain_check")(_check_domain)
        self._refresh_routes = huey.task(name="devpush.routes_refresh")(_refresh_routes)
        # Swarm mode: a drained host's deployments move with the usual switch.
        self._drain = huey.task(name="devpush.drain")(_drain)
        # A domain whose scheduled check was lost is checked again (every 10 minutes).
        self._sweep_domains = huey.periodic_task(
            crontab(minute="*/10"), name="devpush.domain_sweep"
        )(_sweep_domains)

    def enqueue_deploy(self, deployment_id: str) -> None:
        self._deploy(deployment_id)

    def enqueue_stop(self, deployment_id: str) -> None:
        self._stop(deployment_id)

    def enqueue_notify(self, notice: Notice, *, delay: float = 0) -> None:
        # The task takes the notice's fields, not the notice: a queued job stays plain
        # data, readable by a worker of another version.
        args = astuple(notice)
        if delay > 0:  # a retry waits in huey's schedule, not in a worker thread
            self._notify.schedule(args=args, delay=delay)
        else:
            self._notify(*args)

    def enqueue_domain_check(self, domain_id: str, *, delay: float = 0) -> None:
        if delay > 0:
            self._check_domain.schedule(args=(domain_id,), delay=delay)
        else:
            self._check_domain(domain_id)

    def enqueue_routes_refresh(self) -> None:
        self._refresh_routes()

    def enqueue_drain(self, node_id: str) -> None:
        """Queue the drain job with the host's lease taken (the job renews, then releases
        it); :class:`~devpush.workers.host_leases.HostBusy` while the host's deployments
        are moving already (a drain or a failover)."""
        from devpush.workers.host_leases import DRAIN, HostBusy, HostLeases, busy_message

        held = HostLeases(self.huey.storage).take(node_id, DRAIN, DRAIN_QUEUED_SECONDS)
        if held is not None:
            raise HostBusy(busy_message(held))
        self._drain(node_id)


@lru_cache
def default_queue() -> DeployQueue:
    """The queue named by the process's settings, built on first use."""
    return DeployQueue(huey_from_url(get_settings().queue_url))


def __getattr__(name: str) -> Any:
    # ``huey_consumer devpush.workers.queue.huey`` needs a module attribute; building it
    # lazily keeps importing this module free of settings and storage side effects.
    if name == "huey":
        return default_queue().huey
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
