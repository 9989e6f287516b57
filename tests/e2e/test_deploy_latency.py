"""From the deploy call to ``building`` within a second, after the worker sat idle.

A real ``python -m devpush.workers`` process on a SQLite queue (the local run's queue, the one
that is polled) with the real engine. The worker idles long enough for huey's default
back-off to reach seconds (about 3 s after 20 s idle, 2.4 s after 15 s: without the cap, three
waits under a second would be luck, about 1 in 17) before each timed deploy; the queue's
polling cap (devpush.workers.queue.SQLITE_POLLING) keeps the wait under a quarter second.
One worker thread: with several, whichever thread polls first takes the job, which hides
how long the others sleep; one thread is the worst case.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest
from huey import RedisHuey

from devpush.models import DeploymentStatus
from devpush.workers.queue import SQLITE_POLLING, DeployQueue, consumer_polling, huey_from_url
from devpush_dev import processes
from tests.e2e.support import Stack

pytestmark = pytest.mark.docker
#: Idle time before each timed deploy: the first long, then shorter ones.
IDLE_SECONDS = (20.0, 15.0, 15.0)
LIMIT_SECONDS = 1.0


def deploy_to_building(stack: Stack, queue: DeployQueue) -> tuple[str, float]:
    """Seconds from the deploy call until the row says ``building`` (or later)."""
    started = time.monotonic()
    deployment_id = stack.deploy(queue)
    deadline = started + 30
    while time.monotonic() < deadline:
        with stack.sessions() as session:
            status = stack.load(session, deployment_id).status
        if status is not DeploymentStatus.QUEUED:
            return deployment_id, time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError("still queued after 30 s")


def test_an_idle_worker_starts_a_deploy_within_a_second(
    stack: Stack,
    worker: Callable[..., processes.Child],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEVPUSH_WORKER_THREADS", "1")
    child = worker(stack.settings)
    queue = DeployQueue(huey_from_url(stack.settings.queue_url))

    # A first deploy: the worker is up and has imported what a deploy needs.
    first_id, _ = deploy_to_building(stack, queue)
    assert (
        stack.wait_for(first_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED}).status
        is DeploymentStatus.RUNNING
    ), child.log_tail()

    waits = []
    for idle in IDLE_SECONDS:
        time.sleep(idle)
        deployment_id, seconds = deploy_to_building(stack, queue)
        waits.append(seconds)
        settled = stack.wait_for(deployment_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
        assert settled.status is DeploymentStatus.RUNNING, (settled.error, child.log_tail())
    print(
        f"deploy → building after {IDLE_SECONDS} s idle: "
        + ", ".join(f"{w:.3f}" for w in waits)
        + f" s (median {statistics.median(waits):.3f})"
    )
    assert max(waits) < LIMIT_SECONDS, waits
    assert child.running(), child.log_tail()


def test_the_consumer_never_backs_off_to_seconds(tmp_path) -> None:
    # SQLite is polled: the pause between empty polls is capped well under a second.
    sqlite = huey_from_url(f"sqlite:///{tmp_path / 'q.sqlite3'}")
    assert not sqlite.storage.blocking
    assert consumer_polling(sqlite) == SQLITE_POLLING
    assert SQLITE_POLLING["max_delay"] <= 0.25
    consumer = sqlite.create_consumer(workers=1, **consumer_polling(sqlite))
    assert consumer.max_delay <= 0.25
    # Redis is read in blocking mode (BRPOP wakes on the push): no polling back-off at all.
    redis = huey_from_url("redis://127.0.0.1:1/0")  # built, never connected
    assert isinstance(redis, RedisHuey) and redis.storage.blocking
    assert consumer_polling(redis) == {}
