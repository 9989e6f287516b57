"""Reading a local run's restarts from supervisord's main log (devpush/services/supervisor.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from devpush.core.config import Settings
from devpush.services.supervisor import (
    describe,
    local_restart_notice,
    parse_restarts,
    reason_of,
    restart_notice,
)

LOG = """\
2026-12-05 20:51:06,120 INFO spawned: 'collector' with pid 100
2026-12-05 20:51:07,130 INFO success: collector entered RUNNING state, process has stayed up
2026-12-05 20:51:20,000 WARN exited: collector (terminated by SIGKILL; not expected)
2026-12-05 20:51:20,250 INFO spawned: 'collector' with pid 200
2026-12-05 20:51:30,000 WARN exited: app (exit status 3; not expected)
2026-12-05 20:51:40,000 INFO stopped: worker (terminated by SIGTERM)
2026-12-05 20:51:40,100 INFO exited: resolver (exit status 0; expected)
"""


def test_an_unexpected_exit_pairs_with_the_next_spawn() -> None:
    collector, app = parse_restarts(LOG)
    assert (collector.name, collector.reason, collector.seconds) == ("collector", "signal 9", 0.25)
    assert describe(collector) == "collector exited unexpectedly (signal 9); restarted in 0.2 s"
    assert (app.name, app.reason, app.restarted_at) == ("app", "exit status 3", None)
    assert describe(app) == "app exited unexpectedly (exit status 3); not restarted yet"


def test_stops_and_expected_exits_are_no_restarts() -> None:
    assert [r.name for r in parse_restarts(LOG)] == ["collector", "app"]
    assert reason_of("terminated by SIGTERM") == "signal 15"
    assert reason_of("terminated by SIGNOPE") == "terminated by SIGNOPE"


def test_the_notice_names_recent_restarts_only() -> None:
    restarts = parse_restarts(LOG)
    now = datetime(2026, 12, 5, 20, 52, 0)
    notice = restart_notice(restarts, now=now)
    assert notice is not None
    assert "collector (signal 9, 40 s ago), app (exit status 3, 30 s ago)" in notice
    assert restart_notice(restarts, now=datetime(2026, 12, 5, 21, 30)) is None


def test_unset_or_unreachable_says_nothing(tmp_path: object) -> None:
    assert asyncio.run(local_restart_notice(Settings(local_supervisor_url=None))) is None
    nowhere = Settings(local_supervisor_url=f"unix://{tmp_path}/no.sock")
    assert asyncio.run(local_restart_notice(nowhere)) is None
