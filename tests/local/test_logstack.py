"""The embedded log stack end to end: Docker json-file -> our collector -> VictoriaLogs.

Real engine, real binaries (scripts/dev/logstack.sh builds them), the repository's
Docker/otelcol/config.yaml. One VictoriaLogs and one collector per module, on free
loopback ports, read every container log of the engine; each test looks only at its
own deployment IDs. Waits are conditions with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import docker
import httpx
import pytest
from docker.models.containers import Container

from devpush.core.labels import LOG_FIELDS, RUNNER_LOG_LABELS_OPTION, runner_labels
from devpush_dev import otelcol, processes, victorialogs
from devpush_dev.binaries import REPO_ROOT, BinaryNotFoundError, read_versions
from devpush_dev.ports import free_port
from devpush_dev.runners import Runners

pytestmark = pytest.mark.docker

#: VictoriaLogs' own fields on every row, besides ours.
STORE_FIELDS = {"_msg", "_time", "_stream", "_stream_id"}
CONTRIB = "github.com/open-telemetry/opentelemetry-collector-contrib/"


def ns(timestamp: str) -> int:
    """RFC 3339 UTC time with up to 9 fraction digits -> Unix nanoseconds, exactly."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z", timestamp)
    assert match, f"not an RFC 3339 UTC time: {timestamp!r}"
    seconds = time.mktime(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return int(seconds) * 1_000_000_000 + int((match.group(2) or "").ljust(9, "0"))


@dataclass
class Stack:
    """VictoriaLogs and the collector, each stoppable and restartable in place."""

    root: Path
    containers_dir: Path
    store_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    health_port: int = field(default_factory=free_port)
    store: victorialogs.VictoriaLogs | None = None
    collector: otelcol.Collector | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.store_port}"

    def start_store(self) -> None:
        self.store = victorialogs.start_victorialogs(
            data_dir=self.root / "victorialogs", http_port=self.store_port
        )

    def start_collector(self) -> None:
        self.collector = otelcol.start_collector(
            state_dir=self.root / "otelcol",
            containers_dir=self.containers_dir,
            victorialogs_url=self.url,
            metrics_port=self.metrics_port,
            health_port=self.health_port,
        )

    def children(self) -> list[processes.Child]:
        return [part.child for part in (self.collector, self.store) if part is not None]

    def logs(self) -> str:
        return "\n".join(f"--- {c.name} ({c.log_path}):\n{c.log_tail(15)}" for c in self.children())

    def rows(self, query: str, *, flush: bool = False) -> list[dict[str, str]]:
        """Rows matching a LogsQL query, oldest first; ``flush`` makes fresh rows searchable."""
        with httpx.Client(base_url=self.url, timeout=10.0) as client:
            if flush:
                client.get("/internal/force_flush").raise_for_status()
            response = client.get(
                "/select/logsql/query", params={"query": f"{query} | sort by (_time)"}
            )
        response.raise_for_status()
        return [json.loads(line) for line in response.text.splitlines() if line]

    def deployment_rows(self, deployment_id: str, *, flush: bool = False) -> list[dict[str, str]]:
        return self.rows(f'_stream:{{deployment_id="{deployment_id}"}}', flush=flush)

    def wait_rows(
        self,
        deployment_id: str,
        done: Callable[[list[dict[str, str]]], bool],
        *,
        timeout: float = 60.0,
        what: str = "rows",
    ) -> list[dict[str, str]]:
        """Poll until ``done(rows)``; fail with the row count and both logs otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.deployment_rows(deployment_id, flush=True)
            if done(rows):
                return rows
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{what} for {deployment_id} not stored within {timeout:.0f}s "
                    f"({len(rows)} rows)\n{self.logs()}"
                )
            time.sleep(0.2)

    def queue_size(self) -> float:
        """The exporter's sending queue length, from the collector's own metrics."""
        assert self.collector is not None
        text = httpx.get(self.collector.metrics_url, timeout=5.0).text
        sizes = re.findall(r"^otelcol_exporter_queue_size\{[^}]*\} (\S+)$", text, re.M)
        return sum(float(size) for size in sizes)

    def settled(self, deployment_id: str, *, timeout: float = 30.0) -> list[dict[str, str]]:
        """Rows once the collector has nothing left to send (so late doubles would show)."""
        deadline = time.monotonic() + timeout
        while self.queue_size() > 0:
            assert time.monotonic() < deadline, f"sending queue not empty\n{self.logs()}"
            time.sleep(0.2)
        return self.deployment_rows(deployment_id, flush=True)

    def stop(self) -> None:
        for child in self.children():
            child.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    try:
        victorialogs.victorialogs_binary()
        otelcol.collector_binary()
    except BinaryNotFoundError as exc:
        pytest.fail(str(exc))
    stack = Stack(
        root=tmp_path_factory.mktemp("logstack"),
        containers_dir=otelcol.engine_containers_dir(),
    )
    try:
        stack.start_store()
        stack.start_collector()
        yield stack
    finally:
        stack.stop()


RunContainer = Callable[..., Container]


@pytest.fixture
def run_container(docker_client: docker.DockerClient) -> Iterator[RunContainer]:
    """Busybox containers logging as runners do (json-file with the labels option)."""
    runners = Runners(docker_client)

    def run(
        command: Sequence[str],
        *,
        deployment_id: str | None,
        wait: bool = True,
        max_size: str | None = None,
        max_file: int | None = None,
    ) -> Container:
        log_options = {"labels": RUNNER_LOG_LABELS_OPTION}
        if max_size:
            log_options["max-size"] = max_size
        if max_file:
            log_options["max-file"] = str(max_file)
        labels = (
            runner_labels(
                project_id="p-logstack",
                environment_id="e-logstack",
                branch="feature/logs",
                deployment_id=deployment_id,
            )
            if deployment_id
            else {"other.label": "x"}
        )
        return runners.run(
            command,
            labels=labels,
            log_config=docker.types.LogConfig(type="json-file", config=log_options),
            wait=120 if wait else None,
        )

    try:
        yield run
    finally:
        runners.remove_all()


def new_deployment() -> str:
    return f"d-{uuid.uuid4().hex[:12]}"


def docker_lines(container: Container) -> list[dict[str, str]]:
    """The container's json-file lines, in file order (one file: no rotation here)."""
    return [json.loads(raw) for raw in Path(container.attrs["LogPath"]).read_text().splitlines()]


def sequence_script(*, batches: int, per_batch: int, pause: float, pad: int = 0) -> list[str]:
    """Prints ``seq <n> <pad>`` for n = 0 .. batches*per_batch-1, pausing between batches."""
    filler = "x" * pad
    return [
        "sh",
        "-c",
        f"k=0; while [ $k -lt {batches} ]; do "
        f"seq $((k*{per_batch})) $((k*{per_batch}+{per_batch - 1}))"
        f" | sed 's/$/ {filler}/;s/^/seq /'; "
        f"k=$((k+1)); sleep {pause}; done",
    ]


def sequence_numbers(rows: list[dict[str, str]]) -> list[int]:
    return [int(row["_msg"].split()[1]) for row in rows]


def assert_each_once(rows: list[dict[str, str]], total: int) -> None:
    numbers = sequence_numbers(rows)
    missing = sorted(set(range(total)) - set(numbers))
    doubled = len(numbers) - len(set(numbers))
    assert not missing and not doubled, (
        f"{len(missing)} missing (first {missing[:10]}), {doubled} doubled of {total}"
    )


def test_otelcol_go_mod_pins_the_contrib_release_of_versions_env() -> None:
    version = read_versions()["OTELCOL_VERSION"]
    go_mod = (REPO_ROOT / "scripts" / "dev" / "otelcol" / "go.mod").read_text()
    contrib = re.findall(rf"^\s*{re.escape(CONTRIB)}(\S+) (v\S+)", go_mod, re.M)
    assert {name for name, _ in contrib} >= {
        "receiver/filelogreceiver",
        "extension/storage/filestorage",
        "extension/healthcheckextension",
    }
    assert {v for _, v in contrib} == {f"v{version}"}, contrib
    main_go = (REPO_ROOT / "scripts" / "dev" / "otelcol" / "main.go").read_text()
    assert f'const version = "{version}"' in main_go


def test_missing_binaries_say_how_to_build_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.setenv("DEVPUSH_CACHE", str(tmp_path / "cache"))
    for name, find in (
        ("DEVPUSH_VICTORIALOGS_BIN", victorialogs.victorialogs_binary),
        ("DEVPUSH_OTELCOL_BIN", otelcol.collector_binary),
    ):
        monkeypatch.delenv(name, raising=False)
        with pytest.raises(BinaryNotFoundError, match=r"scripts/dev/logstack\.sh"):
            find()


def test_runner_lines_are_stored_once_each_as_written(
    stack: Stack, run_container: RunContainer
) -> None:
    deployment_id = new_deployment()
    printed = [
        "plain text",
        '{"level":"error","msg":"boom"}',
        "  indented, trailing space ",
        "",
        "two\\nlines escaped",
        "tab\there",
    ]
    script = "".join(f"printf '%s\\n' '{line}'; " for line in printed)
    container = run_container(
        ["sh", "-c", f"{script} echo 'to stderr' >&2"], deployment_id=deployment_id
    )
    written = docker_lines(container)
    assert len(written) == len(printed) + 1
    rows = stack.wait_rows(deployment_id, lambda rows: len(rows) >= len(written))
    rows = stack.settled(deployment_id)
    assert len(rows) == len(written), rows

    by_time = sorted(written, key=lambda line: ns(line["time"]))
    for line, row in zip(by_time, rows, strict=True):
        # A blank line is stored with no _msg at all (-defaultMsgValue=, see victorialogs.py).
        assert set(row) | {"_msg"} == STORE_FIELDS | set(LOG_FIELDS), row
        assert ns(row["_time"]) == ns(line["time"])
        assert row.get("_msg", "") == line["log"].removesuffix("\n")
        assert row["stream"] == line["stream"]
        assert (row["project_id"], row["environment_id"], row["branch"]) == (
            "p-logstack",
            "e-logstack",
            "feature/logs",
        )
        assert row["deployment_id"] == deployment_id
    messages = [row.get("_msg", "") for row in rows]
    # Verbatim: not parsed as JSON, inner spaces kept, one "\n" trimmed and no more.
    assert '{"level":"error","msg":"boom"}' in messages
    assert "  indented, trailing space " in messages
    assert "tab\there" in messages
    assert "" in messages
    assert "to stderr" in messages


def test_unlabelled_containers_are_not_stored(stack: Stack, run_container: RunContainer) -> None:
    token = f"unlabelled-{uuid.uuid4().hex}"
    run_container(["echo", token], deployment_id=None)
    # A labelled container afterwards: once its line is stored, the other was read too.
    deployment_id = new_deployment()
    run_container(["echo", "labelled"], deployment_id=deployment_id)
    stack.wait_rows(deployment_id, lambda rows: len(rows) == 1)
    stack.settled(deployment_id)
    assert stack.rows(f'"{token}"', flush=True) == []


def test_a_line_longer_than_docker_parts_is_one_line(
    stack: Stack, run_container: RunContainer
) -> None:
    deployment_id = new_deployment()
    length = 40 * 1024
    container = run_container(
        ["sh", "-c", f"head -c {length} /dev/zero | tr '\\0' 'y'; echo; echo after"],
        deployment_id=deployment_id,
    )
    parts = docker_lines(container)
    # Docker's 16 KiB parts: only the last ends with "\n".
    assert [len(p["log"]) for p in parts] == [16384, 16384, 8193, 6]
    rows = stack.wait_rows(deployment_id, lambda rows: len(rows) >= 2)
    rows = stack.settled(deployment_id)
    assert [row["_msg"] for row in rows] == ["y" * length, "after"]
    assert ns(rows[0]["_time"]) == ns(parts[0]["time"])


def restart_collector_while_writing(
    stack: Stack, run_container: RunContainer, *, kill: bool
) -> tuple[list[dict[str, str]], int]:
    """A container writes 6000 numbered lines over ~6 s; the collector stops midway
    (SIGKILL or SIGTERM) and starts again with the same state dir."""
    deployment_id = new_deployment()
    batches, per_batch = 60, 100
    total = batches * per_batch
    container = run_container(
        sequence_script(batches=batches, per_batch=per_batch, pause=0.1),
        deployment_id=deployment_id,
        wait=False,
    )
    stack.wait_rows(deployment_id, lambda rows: len(rows) >= 500, what="first 500 lines")
    assert stack.collector is not None
    if kill:
        stack.collector.child.kill()
    else:
        assert stack.collector.child.stop() == 0
    stack.start_collector()
    container.wait(timeout=120)
    stack.wait_rows(
        deployment_id, lambda rows: len(set(sequence_numbers(rows))) >= total, what="all lines"
    )
    return stack.settled(deployment_id), total


def test_collector_stopped_and_restarted_stores_each_line_once(
    stack: Stack, run_container: RunContainer
) -> None:
    rows, total = restart_collector_while_writing(stack, run_container, kill=False)
    assert_each_once(rows, total)


def test_collector_killed_and_restarted_loses_nothing(
    stack: Stack, run_container: RunContainer
) -> None:
    """At least once: positions and the send queue are two writes, so a SIGKILL between
    them re-reads the lines of the last poll (seen: 0 in most runs, 100 in some)."""
    rows, total = restart_collector_while_writing(stack, run_container, kill=True)
    numbers = sequence_numbers(rows)
    assert set(numbers) == set(range(total))
    doubled = len(numbers) - total
    print(f"\nSIGKILL: {doubled} of {total} lines stored twice")
    # At most the lines of one poll (200 ms of a 1000 lines/s writer, plus slack).
    assert doubled <= 500


def test_rotated_files_are_read_to_the_end(stack: Stack, run_container: RunContainer) -> None:
    deployment_id = new_deployment()
    # About 3k lines/s of ~300 bytes in the file: Docker rotates every few hundred ms.
    batches, per_batch = 100, 200
    total = batches * per_batch
    container = run_container(
        sequence_script(batches=batches, per_batch=per_batch, pause=0.05, pad=60),
        deployment_id=deployment_id,
        max_size="1m",
        max_file=3,
    )
    assert Path(container.attrs["LogPath"] + ".1").exists(), "Docker did not rotate"
    stack.wait_rows(
        deployment_id,
        lambda rows: len(set(sequence_numbers(rows))) >= total,
        timeout=90,
        what="all lines",
    )
    rows = stack.settled(deployment_id)
    assert_each_once(rows, total)
    seconds = (ns(rows[-1]["_time"]) - ns(rows[0]["_time"])) / 1e9
    print(f"\nrotation: {total} lines in {seconds:.1f}s ({total / seconds:.0f} lines/s)")


def test_lines_written_while_the_store_is_down_arrive_later(
    stack: Stack, run_container: RunContainer
) -> None:
    assert stack.store is not None
    stack.store.child.stop()
    deployment_id = new_deployment()
    started = time.monotonic()
    batches, per_batch = 40, 50
    total = batches * per_batch
    run_container(
        sequence_script(batches=batches, per_batch=per_batch, pause=0.2),
        deployment_id=deployment_id,
    )
    assert time.monotonic() - started >= 8, "the store was not down for long"
    stack.start_store()
    rows = stack.wait_rows(
        deployment_id, lambda rows: len(set(sequence_numbers(rows))) >= total, what="all lines"
    )
    assert_each_once(stack.settled(deployment_id), total)
    assert len(rows) == total


def test_per_line_latency_and_collector_memory(stack: Stack, run_container: RunContainer) -> None:
    """Docker's time of a line -> first seen by a query (no force_flush): the real delay."""
    deployment_id = new_deployment()
    count = 10
    run_container(
        ["sh", "-c", f'for i in $(seq 0 {count - 1}); do echo "seq $i"; sleep 0.7; done'],
        deployment_id=deployment_id,
        wait=False,
    )
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while len(seen) < count and time.monotonic() < deadline:
        now = time.time()
        for row in stack.deployment_rows(deployment_id):
            seen.setdefault(row["_msg"], now - ns(row["_time"]) / 1e9)
        time.sleep(0.05)
    assert len(seen) == count, f"{len(seen)} of {count} lines seen\n{stack.logs()}"
    delays = sorted(seen.values())
    assert stack.collector is not None
    status = Path(f"/proc/{stack.collector.child.pid}/status").read_text()
    rss_kb = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))  # type: ignore[union-attr]
    print(
        f"\nper-line delay: median {delays[count // 2]:.2f}s, max {delays[-1]:.2f}s; "
        f"collector RSS {rss_kb / 1024:.0f} MiB"
    )
    assert delays[-1] < 5.0
