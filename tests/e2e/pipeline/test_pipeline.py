"""Runner logs through the real pipeline: Docker json-file -> Alloy -> Loki.

Run with ``pytest --pipeline`` where Loki and Alloy binaries exist (docs/logging.md).
"""

from __future__ import annotations

import statistics
import time

import pytest

from devpush.core.config import Settings
from devpush.core.labels import LOG_LABELS, LOKI_JOB
from devpush.units import parse_rfc3339_ns

pytestmark = pytest.mark.docker


def _docker_ns(rfc3339: str) -> int:
    """Docker's RFC3339Nano time as Unix nanoseconds."""
    time_ns = parse_rfc3339_ns(rfc3339)
    assert time_ns is not None, rfc3339
    return time_ns


def _expected(count: int, prefix: str, pad: int = 0) -> list[str]:
    return [f"{prefix} {i} {'x' * pad}" for i in range(1, count + 1)]


def _by_stream(entries, stream: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.line for e in entries if e.labels["stream"] == stream]


def test_lines_arrive_once_in_order_with_labels(
    alloy_running, loki_query, run_runner, json_logs
) -> None:
    since = time.time_ns()
    count = 50
    container = run_runner(json_logs.numbered_lines_script(count))
    deployment_id = container.labels["devpush.deployment_id"]

    entries = loki_query.wait_for(deployment_id, 2 * count, since_ns=since)
    assert _by_stream(entries, "stdout") == _expected(count, "out")
    assert _by_stream(entries, "stderr") == _expected(count, "err")
    assert len(entries) == 2 * count
    for entry in entries:
        assert entry.labels == {
            **{name: container.labels[f"devpush.{name}"] for name in LOG_LABELS},
            "job": LOKI_JOB,
            "stream": entry.labels["stream"],
        }
    # Loki holds Docker's own timestamps (stage.docker), to the nanosecond.
    docker_times = sorted(_docker_ns(line.time) for line in json_logs.read(container))
    assert sorted(e.ts_ns for e in entries) == docker_times


def test_container_that_exits_at_once_is_shipped(alloy_running, loki_query, run_runner) -> None:
    since = time.time_ns()
    container = run_runner(["echo", "printed and gone"])
    entries = loki_query.wait_for(container.labels["devpush.deployment_id"], 1, since_ns=since)
    assert [e.line for e in entries] == ["printed and gone"]


def _slow_printer(count: int, *, delay_us: int = 50_000) -> list[str]:
    return ["sh", "-c", f'for i in $(seq 1 {count}); do echo "out $i "; usleep {delay_us}; done']


@pytest.mark.parametrize("how", ["graceful", "sigkill"])
def test_alloy_restart_loses_and_duplicates_nothing(
    how: str, alloy_running, loki_query, run_runner
) -> None:
    since = time.time_ns()
    count = 120  # about 6 s of output
    container = run_runner(_slow_printer(count), wait=False)
    deployment_id = container.labels["devpush.deployment_id"]
    loki_query.wait_for(deployment_id, 10, since_ns=since)

    if how == "graceful":
        assert alloy_running.stop() == 0
    else:
        alloy_running.kill()
    # 20 more lines land in the json file while Alloy is down (about 1 s of output).
    printed = len(container.logs().splitlines())
    deadline = time.monotonic() + 30
    while len(container.logs().splitlines()) < printed + 20 and time.monotonic() < deadline:
        time.sleep(0.1)
    alloy_running.start()

    container.wait(timeout=60)
    entries = loki_query.wait_for(deployment_id, count, since_ns=since)
    assert [e.line for e in entries] == _expected(count, "out")


def test_fresh_start_on_same_state_dir_reads_only_what_is_new(
    alloy_running, loki_query, run_runner
) -> None:
    since = time.time_ns()
    shipped = run_runner(["sh", "-c", "echo before 1; echo before 2"])
    before_id = shipped.labels["devpush.deployment_id"]
    assert len(loki_query.wait_for(before_id, 2, since_ns=since)) == 2

    assert alloy_running.stop() == 0
    # Printed and exited while Alloy was down: found from its file when Alloy comes back.
    offline = run_runner(["sh", "-c", "echo while down 1; echo while down 2"])
    alloy_running.start()

    offline_entries = loki_query.wait_for(
        offline.labels["devpush.deployment_id"], 2, since_ns=since
    )
    assert [e.line for e in offline_entries] == ["while down 1", "while down 2"]
    # The positions file under --storage.path kept the old runner's offset: no re-send.
    assert [e.line for e in loki_query.entries(before_id, since_ns=since)] == [
        "before 1",
        "before 2",
    ]


def test_rotation_is_followed_without_loss(alloy_running, loki_query, run_runner) -> None:
    since = time.time_ns()
    count, pad = 150, 40
    settings = Settings(runner_log_max_size="2k", runner_log_max_file=40)
    # Start after discovery (1s refresh) so the first file is tailed before it rotates,
    # then ~18 records (one 2k file) per second: Alloy follows each rename.
    command = [
        "sh",
        "-c",
        f'sleep 2; for i in $(seq 1 {count}); do echo "out $i {"x" * pad}"; usleep 50000; done',
    ]
    container = run_runner(command, settings=settings)
    entries = loki_query.wait_for(container.labels["devpush.deployment_id"], count, since_ns=since)
    assert [e.line for e in entries] == _expected(count, "out", pad)


def test_latency_from_docker_to_loki(alloy_running, loki_query, run_runner, record_property):
    since = time.time_ns()
    count = 8
    container = run_runner(
        ["sh", "-c", f'sleep 2; for i in $(seq 1 {count}); do echo "tick $i"; sleep 1; done'],
        wait=False,
    )
    deployment_id = container.labels["devpush.deployment_id"]
    arrived: dict[str, int] = {}
    deadline = time.monotonic() + 60
    while len(arrived) < count and time.monotonic() < deadline:
        now = time.time_ns()
        for entry in loki_query.entries(deployment_id, since_ns=since):
            arrived.setdefault(entry.line, now - entry.ts_ns)
        time.sleep(0.05)
    assert len(arrived) == count, sorted(arrived)
    seconds = sorted(ns / 1e9 for ns in arrived.values())
    record_property("latency_p50_s", statistics.median(seconds))
    record_property("latency_max_s", seconds[-1])
    median = statistics.median(seconds)
    print(f"Docker -> Loki latency: median {median:.2f}s, max {seconds[-1]:.2f}s")
    # Steady state: batch_wait (200ms) + file poll (250ms) + push + query poll.
    assert median < 2.0
