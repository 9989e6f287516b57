"""devpush_dev.processes: stop_all stops every child, a stubborn one killed; ``with`` stops."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from devpush_dev import processes


def _wait_logged(child: processes.Child, text: str) -> None:
    deadline = time.monotonic() + 10
    while text not in child.log_path.read_text():
        assert time.monotonic() < deadline, child.log_tail()
        time.sleep(0.05)


def test_stop_all_stops_every_child_and_kills_one_that_ignores_sigterm(tmp_path: Path) -> None:
    polite = processes.start("polite", ["sleep", "60"], log_path=tmp_path / "polite.log")
    stubborn = processes.start(
        "stubborn",
        ["sh", "-c", 'trap "" TERM; echo ignoring; while :; do sleep 0.1; done'],
        log_path=tmp_path / "stubborn.log",
    )
    exited = processes.start("exited", ["true"], log_path=tmp_path / "exited.log")
    try:
        _wait_logged(stubborn, "ignoring")
        exited.process.wait()

        processes.stop_all([polite, stubborn, exited], timeout=1)

        assert polite.process.returncode == -signal.SIGTERM
        assert stubborn.process.returncode == -signal.SIGKILL
        assert exited.process.returncode == 0
    finally:
        for child in (polite, stubborn, exited):
            child.kill()


def test_stop_all_of_nothing_is_a_no_op() -> None:
    processes.stop_all([])


def test_a_with_block_stops_its_handle_pass_or_fail(tmp_path: Path) -> None:
    with processes.start("passes", ["sleep", "60"], log_path=tmp_path / "a.log") as passes:
        assert passes.running()
    assert passes.process.returncode == -signal.SIGTERM
    server = processes.LoopbackServer(
        processes.start("fails", ["sleep", "60"], log_path=tmp_path / "b.log"), port=1
    )
    with pytest.raises(LookupError), server:
        raise LookupError("the test failed")
    assert server.child.process.returncode == -signal.SIGTERM
