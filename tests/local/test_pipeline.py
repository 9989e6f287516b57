"""devpush_dev/pipeline.py, the local run's helper processes, on the real engine and binaries.

It is started as scripts/dev/local.sh starts it, and stopped as a terminal's Ctrl-C stops
local.sh: SIGINT, then local.sh's own SIGTERM right after. A threading.Event set from the
signal handler once deadlocked on that second signal (about 1 stop in 100 hung).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devpush.services import proxy_config
from devpush_dev import log_stacks
from devpush_dev.pipeline import PIPELINE_ENV
from tests.utils.signals import default_signals

pytestmark = pytest.mark.docker

ROUNDS = 3


def start(state: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "devpush_dev.pipeline", "--state", str(state), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=default_signals,
    )


def wait_for_settings(process: subprocess.Popen[str], state: Path) -> dict[str, str]:
    deadline = time.monotonic() + 120
    while not (state / PIPELINE_ENV).exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the pipeline did not get ready:\n{process.communicate()[0]}")
        time.sleep(0.1)
    lines = (state / PIPELINE_ENV).read_text().split()
    return dict(line.split("=", 1) for line in lines)


def port_of(url: str) -> int:
    return int(httpx.URL(url).port or 0)


def processes_using(state: Path) -> list[str]:
    """Command lines of running processes that name ``state`` (the pipeline's children do)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(state) in argv:
            found.append(argv)
    return found


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_starts_the_embedded_stack_and_stops_on_ctrl_c_then_sigterm(tmp_path: Path) -> None:
    for _ in range(ROUNDS):
        process = start(tmp_path, "--log-store", "victorialogs")
        settings = wait_for_settings(process, tmp_path)
        assert settings["DEVPUSH_LOG_STORE"] == "victorialogs"
        store, metrics = (
            settings["DEVPUSH_LOG_STORE_URL"],
            settings["DEVPUSH_LOG_COLLECTOR_METRICS_URL"],
        )
        assert httpx.get(f"{store}/health", timeout=5).text == "OK"
        assert httpx.get(metrics, timeout=5).status_code == 200
        admin = settings["DEVPUSH_PROXY_ADMIN_URL"]
        config = httpx.get(f"{admin}/config/", timeout=5)
        assert config.status_code == 200
        # Caddy's access log is the file this run's collector reads (request logs).
        access_log = settings["DEVPUSH_PROXY_ACCESS_LOG"]
        assert access_log == str(log_stacks.proxy_access_log(tmp_path.resolve()))
        logs = config.json()["logging"]["logs"]
        assert logs[proxy_config.ACCESS_LOGGER]["writer"]["filename"] == access_log
        door = settings["DEVPUSH_DOCKER_HOST"].replace("tcp://", "http://")
        assert httpx.get(f"{door}/_ping", timeout=5).text == "OK"

        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        finally:
            process.kill()
        assert code == 0, process.communicate()[0]
        for url in (store, metrics, admin, door):
            assert not listening(port_of(url)), url
        assert processes_using(tmp_path) == []
        # The next round starts on the same state: the store's data and the read positions.
        (tmp_path / PIPELINE_ENV).unlink()


def test_a_missing_log_store_binary_fails_with_its_name_and_leaves_nothing_running(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-loki"
    process = start(tmp_path, "--log-store", "loki", env={"DEVPUSH_LOKI_BIN": str(missing)})
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 1, output
    assert f"error: the loki log stack is missing: DEVPUSH_LOKI_BIN={missing}" in output
    assert not (tmp_path / PIPELINE_ENV).exists()
    # Every binary is found before supervisord starts anything: nothing to stop.
    assert processes_using(tmp_path) == []
