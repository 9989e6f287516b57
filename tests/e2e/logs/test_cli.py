"""``devpush logs`` as a subprocess against the app on uvicorn (127.0.0.1), on the real store.

The history prints a deployment's lines; ``--follow`` then prints a line a runner
emits after the command started, and stops on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from tests.e2e.logs.support import ARRIVAL_TIMEOUT, AlicePrints
from tests.fixtures.logstack import Runner
from tests.fixtures.web import PASSWORD, TwoTeams
from tests.utils.signals import default_signals

pytestmark = pytest.mark.docker

Emit = Callable[..., Runner]
DEVPUSH = Path(sys.executable).parent / "devpush"


@pytest.fixture
def cli_env(live_url: str, two_teams: TwoTeams, tmp_path: Path) -> dict[str, str]:
    """The environment of a logged-in ``devpush`` (Alice)."""
    env = {**os.environ, CONFIG_ENV: str(tmp_path / "cli" / "config.json"), "COLUMNS": "200"}
    login = ["login", "--url", live_url, "--email", two_teams.alice.email, "--password", PASSWORD]
    result = CliRunner().invoke(cli, login, env=env)
    assert result.exit_code == 0, result.output
    return env


def _devpush(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEVPUSH), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_logs_prints_the_lines(
    cli_env: dict[str, str],
    alice_runner: Runner,
    alice_prints: AlicePrints,
) -> None:
    alice_prints(stdout=[b"hello from the cli test\n"], stderr=[b"\x1b[31mred\x1b[0m err\n"])
    dep = alice_runner.deployment_id[:8]

    result = _devpush(cli_env, "logs", "shop")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert len(rows) == 2
    assert any(row.endswith(f" {dep} out hello from the cli test") for row in rows), rows
    # Piped output keeps the line as written.
    assert any(row.endswith(f" {dep} err \x1b[31mred\x1b[0m err") for row in rows), rows

    result = _devpush(cli_env, "logs", "shop", "--grep", "HELLO", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1 and '"line": "hello from the cli test"' in result.stdout


def _read_rows(process: subprocess.Popen[str], into: queue.Queue[tuple[float, str]]) -> None:
    """Each printed row, with the time it was read (runs in a thread)."""
    assert process.stdout is not None
    for row in process.stdout:
        into.put((time.time(), row.rstrip("\n")))


def test_follow_prints_a_line_emitted_after_it_started(
    cli_env: dict[str, str],
    alice_runner: Runner,
    emit: Emit,
    alice_prints: AlicePrints,
) -> None:
    alice_prints(stdout=[b"before follow\n"])
    process = subprocess.Popen(
        [str(DEVPUSH), "logs", "shop", "--follow"],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    printed: queue.Queue[tuple[float, str]] = queue.Queue()
    reader = threading.Thread(target=_read_rows, args=(process, printed), daemon=True)
    reader.start()

    def next_row(timeout: float) -> tuple[float, str]:
        try:
            return printed.get(timeout=timeout)
        except queue.Empty:
            process.kill()
            process.wait(timeout=15)
            errors = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"no output in {timeout}s; stderr: {errors}") from None

    try:
        _, first = next_row(ARRIVAL_TIMEOUT)
        assert first.endswith(" out before follow"), first
        emit(alice_runner, stdout=[b"after follow started\n"])
        exited = time.time()
        arrived, row = next_row(ARRIVAL_TIMEOUT)
        assert row.endswith(" out after follow started"), row
        written = datetime.fromisoformat(row.split(" ", 1)[0]).timestamp()
        print(
            f"\ndevpush logs --follow: line time → printed {arrived - written:.2f}s, "
            f"runner exit → printed {arrived - exited:.2f}s"
        )
        assert arrived - written < 10
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) in (0, 130, -signal.SIGINT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
    reader.join(timeout=5)
    assert printed.empty(), "a line was printed twice or out of place"


def test_logs_download_saves_the_range(
    cli_env: dict[str, str],
    tmp_path: Path,
    alice_prints: AlicePrints,
) -> None:
    alice_prints(stdout=[b"saved one\n", b"saved two\n"], stderr=[b"saved err\n"])

    target = tmp_path / "logs.txt"
    result = _devpush(cli_env, "logs", "shop", "--download", str(target))
    assert result.returncode == 0, result.stderr
    assert "3 lines saved" in result.stderr
    rows = target.read_text().splitlines()
    assert sorted(row.split(" ", 2)[2] for row in rows) == ["saved err", "saved one", "saved two"]

    target = tmp_path / "logs.ndjson"
    result = _devpush(cli_env, "logs", "shop", "--download", str(target), "--json", "--grep", "ERR")
    assert result.returncode == 0, result.stderr
    assert [json.loads(row)["line"] for row in target.read_text().splitlines()] == ["saved err"]

    result = _devpush(cli_env, "logs", "shop", "--download", str(target), "--follow")
    assert result.returncode != 0 and "can't be combined" in result.stderr
