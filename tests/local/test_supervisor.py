"""devpush_dev/supervisor.py: the config supervisord reads, and a real supervisord with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devpush_dev.processes import ProcessError
from devpush_dev.supervisor import Program, Supervisord, render_program
from tests.utils.signals import default_signals


def test_values_are_quoted_and_percent_signs_kept(tmp_path: Path) -> None:
    program = Program(
        name="echo",
        argv=["sh", "-c", 'echo "$GREETING" 100%; sleep 600'],
        log_path=tmp_path / "echo.log",
        priority=10,
        env={"GREETING": "hello, 50% world"},
    )
    assert "%%" in render_program(program)
    supervisord = Supervisord(tmp_path, [program])
    try:
        deadline = time.monotonic() + 20
        while "hello, 50% world 100%" not in program.log_path.read_text(errors="replace"):
            assert time.monotonic() < deadline, program.log_path.read_text(errors="replace")
            time.sleep(0.1)
    finally:
        supervisord.stop()
    assert not supervisord.running()


def test_a_killed_parent_leaves_no_supervisord_behind(tmp_path: Path) -> None:
    """The pipeline SIGKILLed: its supervisord gets SIGTERM and stops its programs."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from devpush_dev.supervisor import Program, Supervisord; "
            f"p = Path({str(tmp_path)!r}); "
            "Supervisord(p, [Program(name='s', argv=['sleep', '600'], "
            "log_path=p / 's.log', priority=10)]); print('up', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "up\n"
        pid = int((tmp_path / "supervisord.pid").read_text())
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists():
            assert time.monotonic() < deadline, "supervisord outlived its parent"
            time.sleep(0.1)
    finally:
        parent.kill()
        parent.wait()


def test_a_part_that_exits_before_it_is_ready_fails_the_start_with_its_log(
    tmp_path: Path,
) -> None:
    program = Program(
        name="broken",
        argv=["sh", "-c", "echo cannot bind; exit 3"],
        log_path=tmp_path / "broken.log",
        priority=10,
    )
    supervisord = Supervisord(tmp_path, [program])
    try:
        started = time.monotonic()
        with pytest.raises(ProcessError, match="cannot bind"):
            supervisord.wait_ready("broken", lambda: False, timeout=60)
        assert time.monotonic() - started < 10
    finally:
        supervisord.stop()
