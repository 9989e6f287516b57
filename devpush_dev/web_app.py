"""The web app under uvicorn on loopback, as the local run, the tests and the benchmarks run it."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from devpush_dev.binaries import REPO_ROOT
from devpush_dev.processes import ProcessSpec


def web_app_argv(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "devpush.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def web_app_process(
    *, state_dir: Path, port: int, env: Mapping[str, str], timeout: float = 60.0
) -> ProcessSpec:
    """The app on ``port``, logging to ``app.log``, ready when its login page answers."""
    return ProcessSpec(
        name="app",
        argv=web_app_argv(port),
        state_dir=state_dir,
        log_name="app.log",
        ready_url=f"http://127.0.0.1:{port}/login",
        timeout=timeout,
        env=env,
        cwd=REPO_ROOT,
    )
