"""The worker's thread that watches the log store: it keeps polling through failures, stops
when told, and is not started for a store that needs no repair (Loki).

The repair itself runs on the real store and engine in tests/services/test_store_repair.py,
and inside the local run's worker in tests/e2e/test_local_restarts.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from devpush.core.config import Settings
from devpush.workers import store_watch
from devpush.workers.tasks.context import WorkerContext


class FlakyRepair:
    """Fails its first round (the store or Docker gone mid-round), then counts rounds."""

    def __init__(self) -> None:
        self.rounds = 0

    def tick(self) -> None:
        self.rounds += 1
        if self.rounds == 1:
            raise ConnectionError("the store went away mid-round")


def test_a_failed_round_is_logged_and_the_watch_goes_on_until_stopped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(store_watch, "POLL_SECONDS", 0.01)
    repair, stop = FlakyRepair(), threading.Event()
    thread = threading.Thread(target=store_watch.watch, args=(repair, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while repair.rounds < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert repair.rounds >= 3
    assert not thread.is_alive()
    assert "log store repair failed; retrying" in caplog.text


def test_no_watch_for_loki(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self))
    ctx = WorkerContext(
        settings=Settings(log_store="loki"),
        sessions=None,  # type: ignore[arg-type]
        docker=None,  # type: ignore[arg-type]
    )
    assert store_watch.start_store_watch(ctx) is None
    assert started == []
