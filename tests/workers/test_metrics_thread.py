"""The worker's metrics thread: a round per interval, through failures, until stopped.

The rounds themselves run on the real engine in tests/services/test_metrics_sampler.py,
and inside a worker process in tests/e2e/test_metrics.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from devpush.services.metrics_sampler import MetricsSampler
from devpush.workers.metrics_thread import sample_until


class FlakySampler:
    """Fails its first round (the engine gone mid-round), then counts rounds."""

    def __init__(self) -> None:
        self.rounds = 0
        self.closed = False

    def tick(self) -> None:
        self.rounds += 1
        if self.rounds == 1:
            raise ConnectionError("the engine went away mid-round")

    def close(self) -> None:
        self.closed = True


def test_a_failed_round_is_logged_and_rounds_go_on_until_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sampler, stop = FlakySampler(), threading.Event()
    thread = threading.Thread(target=sample_until, args=(sampler, stop, 0.02))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while sampler.rounds < 3:
            assert time.monotonic() < deadline, "the rounds stopped after a failure"
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert sampler.closed  # its pool is shut down with it
    assert "metrics round failed; retrying" in caplog.text


def test_stop_ends_a_long_wait_at_once() -> None:
    sampler, stop = FlakySampler(), threading.Event()
    thread = threading.Thread(target=sample_until, args=(sampler, stop, 3600))
    thread.start()
    deadline = time.monotonic() + 10
    while sampler.rounds < 1:  # the first round runs at the start
        assert time.monotonic() < deadline
        time.sleep(0.01)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert sampler.rounds == 1


def test_the_fake_has_the_samplers_shape() -> None:
    for name in ("tick", "close"):
        assert callable(getattr(MetricsSampler, name))
