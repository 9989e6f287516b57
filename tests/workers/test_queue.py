"""The huey instance is picked from queue_url; the deploy queue registers its jobs on it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from huey import MemoryHuey, RedisHuey, SqliteHuey

from devpush.workers.queue import DeployQueue, QueueConfigError, huey_from_url


def test_sqlite_url_gives_a_sqlite_huey_on_that_file(tmp_path: Path) -> None:
    huey = huey_from_url(f"sqlite:///{tmp_path}/sub/queue.sqlite3")
    assert isinstance(huey, SqliteHuey)
    assert huey.storage.filename == f"{tmp_path}/sub/queue.sqlite3"
    assert huey.name == "devpush"


def test_redis_url_gives_a_redis_huey() -> None:
    # Building the client does not connect: no Redis server needed.
    assert isinstance(huey_from_url("redis://127.0.0.1:6379/0"), RedisHuey)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql://x/y", "q"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(QueueConfigError):
        huey_from_url(url)


def test_jobs_are_registered_and_enqueued_by_name() -> None:
    queue = DeployQueue(MemoryHuey(immediate=False))
    queue.enqueue_deploy("d1")
    queue.enqueue_stop("d2")
    assert [(t.name, t.args) for t in queue.huey.pending()] == [
        ("devpush.deploy", ("d1",)),
        ("devpush.stop", ("d2",)),
    ]


def test_cleanup_runs_hourly_and_reconcile_every_minute() -> None:
    huey = DeployQueue(MemoryHuey(immediate=False)).huey

    def due(minute: int) -> set[str]:
        return {t.name for t in huey.read_periodic(datetime(2030, 1, 1, 5, minute))}

    assert due(17) == {"devpush.cleanup", "devpush.reconcile", "devpush.poll"}
    assert due(18) == {"devpush.reconcile", "devpush.poll"}
    # Custom domains whose scheduled check was lost: every 10 minutes.
    assert due(20) == {"devpush.reconcile", "devpush.poll", "devpush.domain_sweep"}
