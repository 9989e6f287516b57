"""The web app under uvicorn on loopback and the deploy worker, as the local run, the tests
and the benchmarks run them."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from devpush_dev.binaries import REPO_ROOT
from devpush_dev.processes import Child, ProcessSpec, start


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


def start_worker(*, log_path: Path, env: Mapping[str, str]) -> Child:
    """The deploy worker (``python -m devpush.workers``) with ``env``, logging to
    ``log_path``; it has no port, so nothing to wait for."""
    argv = [sys.executable, "-m", "devpush.workers"]
    return start("worker", argv, log_path=log_path, env=env, cwd=REPO_ROOT)
