"""scripts/dev/local.sh run as a terminal runs it: started until ready, stopped with Ctrl-C
(tests/e2e/test_deploy_local.py, test_local_restarts.py, test_isolation.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.utils.signals import default_signals

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "dev" / "local.sh"
READY = "press Ctrl-C to stop"


def run_until_ready(
    port: int, data_dir: Path, proxy_port: int
) -> tuple[subprocess.Popen[str], list[str]]:
    """local.sh started as a terminal would, once ready; its output lines (still growing)."""
    process = subprocess.Popen(
        [
            str(SCRIPT),
            *("--port", str(port), "--proxy-port", str(proxy_port)),
            *("--data-dir", str(data_dir)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=default_signals,
    )
    lines: list[str] = []
    # A thread drains the pipe: the script keeps writing until it is stopped.
    threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True).start()
    deadline = time.monotonic() + 240
    while not any(READY in line for line in lines):
        if process.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
            pytest.fail("local.sh did not get ready:\n" + "".join(lines))
        time.sleep(0.2)
    return process, lines


def interrupt(process: subprocess.Popen[str]) -> int:
    """Ctrl-C; if the script is still there after a minute, SIGTERM (it stops its children
    in order on that too), and only then SIGKILL: its children run in sessions of their own,
    so killing the script's group alone would leave the whole run behind."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
