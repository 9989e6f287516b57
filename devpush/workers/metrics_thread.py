"""The worker's metrics sampler: a thread that samples the running runners at a fixed interval.

Like the log store's watch (``devpush/workers/store_watch.py``), it is a thread of the
worker process, not a huey periodic task: huey's schedule runs at most once a minute,
and a round should not wait behind deploys in the queue. One worker per database should
run it (two would store each sample twice: the charts average them away, the table
doubles); the Compose stack runs one worker.
"""

from __future__ import annotations

import logging
import threading
import time

from devpush.services.metrics_sampler import MetricsSampler, sampler_client
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.threads import start_thread

log = logging.getLogger(__name__)


def sample_until(sampler: MetricsSampler, stop: threading.Event, interval: float) -> None:
    """A round every ``interval`` seconds (from the last round's start) until ``stop`` is
    set; a failed round is logged and the next one comes on time."""
    next_round = time.monotonic()
    while not stop.is_set():
        try:
            sampler.tick()
        except Exception:  # the engine or the database went away: the next round tries again
            log.exception("metrics round failed; retrying")
        next_round += interval
        # A round longer than the interval (a slow engine) skips the rounds it overran.
        while next_round < time.monotonic():
            next_round += interval
        if stop.wait(next_round - time.monotonic()):
            break
    sampler.close()


def start_metrics_sampler(ctx: WorkerContext) -> threading.Event:
    """Start the sampler in a daemon thread; set the returned event to stop it."""
    client = sampler_client(ctx.settings)
    sampler = MetricsSampler(settings=ctx.settings, sessions=ctx.sessions, client=client)
    interval = ctx.settings.metrics_interval_seconds
    return start_thread("metrics-sampler", lambda stop: sample_until(sampler, stop, interval))
