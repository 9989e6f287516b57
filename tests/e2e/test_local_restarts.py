"""The local run heals: a part SIGKILLed comes back within 5 s, and no log line is lost.

One run of scripts/dev/local.sh serves every check (it takes half a minute to start).
A runner prints numbered lines at about 1,000 a second (tests/fixtures/numbered_lines.py's
writer); the collector, then the store, is SIGKILLed mid-stream; supervisord restarts
it, and every line shows through the app's log store reader within 10 s of the kill,
none twice. The worker and the app are SIGKILLed too. Each restart is reported: a line in
local.sh's output, and the notice the log views show (devpush/services/supervisor.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devpush.core.config import Settings
from devpush.services.supervisor import local_restart_notice
from devpush_dev.log_stacks import plan_victorialogs
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import answers as resolver_answers
from devpush_dev.supervisor import rpc
from tests.e2e.local_run import interrupt, run_until_ready
from tests.fixtures.logstack import LogStack
from tests.fixtures.numbered_lines import (
    Spawn,
    ids,
    numbers,
    shown,
    wait_shipping,
    writer,
)

pytestmark = pytest.mark.docker

#: The issue's deadlines: back within 5 s, every line shown within 10 s of the kill.
RESTART_SECONDS = 5.0
#: The app answers once it has imported: 2-3 s on an idle host, 5-10 s on a 2-core one
#: at load 6 (measured, docs/local-run.md); supervisord spawns it again within 0.2 s.
APP_ANSWERS_SECONDS = 15.0
ALL_LINES_SECONDS = 10.0


@dataclass
class LocalRun:
    process: subprocess.Popen[str]
    output: list[str]
    state: Path
    port: int
    settings: dict[str, str]
    #: The deployment of the last kill_mid_stream run.
    last_deployment_id: str = ""

    def pid(self, name: str) -> int:
        pid: int = rpc(self.state).getProcessInfo(name)["pid"]
        return pid

    def stack(self) -> LogStack:
        """The run's store and collector, to read (supervisord runs them, not this)."""
        plan = dataclasses.replace(
            plan_victorialogs(self.state, docker_host=""),
            store_url=self.settings["DEVPUSH_LOG_STORE_URL"],
            collector_metrics_url=self.settings["DEVPUSH_LOG_COLLECTOR_METRICS_URL"],
        )
        return LogStack(plan=plan)

    def kill(self, name: str) -> tuple[int, float]:
        """SIGKILL ``name``'s process: its old pid and when."""
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        return pid, time.monotonic()

    def wait_back(
        self,
        name: str,
        old_pid: int,
        answers: Callable[[], bool],
        answers_within: float = RESTART_SECONDS,
    ) -> float:
        """Seconds from the kill until a new ``name`` process answers; fails when supervisord
        has not spawned one within 5 s, or it does not answer within ``answers_within``."""
        killed = time.monotonic()
        spawned = False
        while True:
            with contextlib.suppress(OSError, Exception):
                spawned = spawned or self.pid(name) not in (0, old_pid)
                if spawned and answers():
                    return time.monotonic() - killed
            waited = time.monotonic() - killed
            if not spawned and waited > RESTART_SECONDS:
                pytest.fail(f"{name} not restarted within {RESTART_SECONDS} s")
            if waited > answers_within:
                pytest.fail(f"{name} restarted but not answering within {answers_within} s")
            time.sleep(0.05)

    def wait_reported(self, name: str) -> str:
        """local.sh's line for ``name``'s restart."""
        said = f"{name} exited unexpectedly (signal 9); restarted in"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for line in list(self.output):
                if said in line:
                    return line
            time.sleep(0.1)
        pytest.fail(f"local.sh did not report {name}'s restart:\n{''.join(self.output)}")


def answers_200(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=1).status_code == 200


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    data_dir = tmp_path_factory.mktemp("local-run")
    port = free_port()
    process, output = run_until_ready(port, data_dir, free_port())
    try:
        state = data_dir / "local"
        lines = (state / "pipeline.env").read_text().split()
        settings = dict(line.split("=", 1) for line in lines)
        yield LocalRun(process, output, state, port, settings)
    finally:
        assert interrupt(process) == 130


def kill_mid_stream(
    local_run: LocalRun,
    run: Spawn,
    name: str,
    ready: str,
    arrived: Callable[[list[int], int], bool],
) -> tuple[list[int], int]:
    """SIGKILL ``name`` while a runner writes; fails unless ``arrived(numbers, total)`` holds
    within 10 s of the kill. The numbers shown 2 s later, and how many were written."""
    project_id, deployment_id = ids()
    local_run.last_deployment_id = deployment_id
    # 6 s at 1,000 lines/s: the kill lands 1-3 s in, the last line well before kill + 10 s.
    argv, total = writer(seconds=6, rate=1000)
    run(argv, project_id=project_id, deployment_id=deployment_id)
    stack = local_run.stack()
    wait_shipping(stack, project_id, deployment_id, 1000, timeout=15)
    old_pid, killed = local_run.kill(name)
    back = local_run.wait_back(name, old_pid, answers_200(ready))
    deadline = killed + ALL_LINES_SECONDS
    while not arrived(seen := numbers(shown(stack, project_id, deployment_id)), total):
        if time.monotonic() > deadline:
            pytest.fail(
                f"{len(set(seen))} of {total} lines shown within {ALL_LINES_SECONDS} s of the kill"
            )
        time.sleep(0.5)
    shown_after = time.monotonic() - killed
    print(f"\n{name}: answering after {back:.1f} s, every line shown after {shown_after:.1f} s")
    time.sleep(2)  # a quiet period in which doubles would show
    local_run.wait_reported(name)
    return numbers(shown(stack, project_id, deployment_id)), total


def every_line(seen: list[int], total: int) -> bool:
    return len(set(seen)) >= total


def test_the_collector_killed_mid_stream_is_back_in_5_s_with_every_line(
    local_run: LocalRun,
    spawn: Spawn,
) -> None:
    metrics = local_run.settings["DEVPUSH_LOG_COLLECTOR_METRICS_URL"]
    seen, total = kill_mid_stream(local_run, spawn, "collector", metrics, every_line)
    assert_exact_numbers(seen, total)


def assert_exact_numbers(seen: list[int], total: int) -> None:
    missing = sorted(set(range(total)) - set(seen))
    doubled = len(seen) - len(set(seen))
    assert not missing and not doubled, (
        f"{len(missing)} lost (first {missing[:10]}), {doubled} doubled of {total}"
    )


def test_the_store_killed_mid_stream_is_back_in_5_s_with_every_line_once(
    local_run: LocalRun,
    spawn: Spawn,
) -> None:
    """VictoriaLogs has no write-ahead log: lines it acknowledged but had not yet written
    to disk (-inmemoryDataFlushInterval=1s, plus its ingestion buffer) die with it, and the
    collector, told they were stored, does not send them again. The worker notices the
    restart and puts them back from Docker's logs (devpush/services/store_repair.py):
    every line shows within 10 s of the kill, and the store holds each exactly once."""
    store = local_run.settings["DEVPUSH_LOG_STORE_URL"]
    seen, total = kill_mid_stream(local_run, spawn, "victorialogs", f"{store}/health", every_line)
    assert_exact_numbers(seen, total)
    # The views show a repeated line once: count the store's own rows too.
    deployment_id = local_run.last_deployment_id
    httpx.get(f"{store}/internal/force_flush").raise_for_status()
    rows = httpx.post(
        f"{store}/select/logsql/query",
        data={"query": f'deployment_id:="{deployment_id}" | stats count() as rows'},
    )
    rows.raise_for_status()
    assert int(rows.json()["rows"]) == total, f"{rows.json()['rows']} rows for {total} lines"
    repaired = [
        line
        for line in (local_run.state / "worker.log").read_text().splitlines()
        if "log store repaired" in line
    ]
    assert repaired, "the worker logged no repair"
    print(f"\n{repaired[-1]}")


def test_the_worker_and_the_app_killed_are_back_in_5_s(local_run: LocalRun) -> None:
    old_pid, _ = local_run.kill("worker")
    local_run.wait_back("worker", old_pid, lambda: True)
    old_pid, _ = local_run.kill("app")
    home = f"http://127.0.0.1:{local_run.port}/"
    local_run.wait_back(
        "app",
        old_pid,
        lambda: httpx.get(home, follow_redirects=True, timeout=1).is_success,
        APP_ANSWERS_SECONDS,
    )
    local_run.wait_reported("worker")
    local_run.wait_reported("app")


def test_the_resolver_and_caddy_killed_are_back_in_5_s_and_the_views_say_so(
    local_run: LocalRun,
) -> None:
    # The first of the two resolvers is the program "resolver".
    address = local_run.settings["DEVPUSH_PROXY_RESOLVER_ADDR"].split(",")[0]
    old_pid, _ = local_run.kill("resolver")
    local_run.wait_back("resolver", old_pid, lambda: resolver_answers(address))
    old_pid, _ = local_run.kill("caddy")
    local_run.wait_back(
        "caddy", old_pid, answers_200(f"{local_run.settings['DEVPUSH_PROXY_ADMIN_URL']}/config/")
    )
    local_run.wait_reported("caddy")
    settings = Settings(local_supervisor_url=local_run.settings["DEVPUSH_LOCAL_SUPERVISOR_URL"])
    notice = asyncio.run(local_restart_notice(settings))
    assert notice is not None
    assert "caddy (signal 9," in notice
    assert "resolver (signal 9," in notice
    # Unset, as on every production server: nothing asked, nothing said.
    assert asyncio.run(local_restart_notice(Settings(local_supervisor_url=None))) is None
