"""Faults on the log path, on the real components, counted as the app shows lines.

Runner containers (real engine, the worker's log options) print numbered lines
(``seq <n>``); lines are read back through the LogStore interface (cursor pages, the
live tail): what the views, the API and the CLI show (tests/fixtures/numbered_lines.py).
Each test asserts 0 lost, 0 doubled and per-stream order kept, and is bounded in time.
Runs on VictoriaLogs by default and unchanged with ``--log-store=loki``.

The outages last as long as the reliability figures say: the collector stopped 60 s
(``DEVPUSH_FAULT_COLLECTOR_DOWN_SECONDS``) and the store 90 s
(``DEVPUSH_FAULT_STORE_DOWN_SECONDS``); set them lower for a quick local run. The
store's outage runs on a stack of its own, in a thread beside the module's other tests
(its test, last in the module, checks it); a runner cut short is checked against what
Docker kept of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import pytest
from fastapi.testclient import TestClient

from devpush.core.config import Settings
from devpush.logs.errors import LogStoreUnavailable
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.logs.query import LogQuery
from devpush.services.log_store import log_store, open_http_client
from devpush_dev.binaries import BinaryNotFoundError
from devpush_dev.log_stacks import start_log_stack
from devpush_dev.runners import Runners
from tests.fixtures.logstack import LogStack
from tests.fixtures.numbered_lines import (
    Spawn,
    assert_exact,
    ids,
    numbers,
    shown,
    since,
    spawner,
    stop_writing,
    wait_shipping,
    wait_shown,
    writer,
)
from tests.fixtures.web import TwoTeams, log_in

pytestmark = pytest.mark.docker

# The outages of the reliability issue: the collector down 60 s, the store down 90 s.
COLLECTOR_DOWN = float(os.environ.get("DEVPUSH_FAULT_COLLECTOR_DOWN_SECONDS", "60"))
STORE_DOWN = float(os.environ.get("DEVPUSH_FAULT_STORE_DOWN_SECONDS", "90"))
#: How long a runner writes on after a collector's restart before it is stopped: the
#: restarted collector reads the backlog, then follows the lines as they come.
AFTER_RESTART = 3.0


# --- runners and counting -------------------------------------------------------------


def numbered(count: int) -> list[str]:
    """A runner's command printing ``seq 0`` .. ``seq <count - 1>`` at once."""
    return ["sh", "-c", f"seq 0 {count - 1} | sed 's/^/seq /'"]


# --- the collector and the store down -------------------------------------------------


def test_collector_killed_while_a_runner_writes_1000_lines_a_second(
    running_log_stack: LogStack, spawn: Spawn
) -> None:
    """SIGKILL may send one poll's lines twice (VictoriaLogs keeps both copies); the app
    shows a repeated (time, fields, line) once, so users see each line once."""
    project_id, deployment_id = ids()
    # Writes until stopped (60 s at most): killed mid-stream, once it ships (within 15 s:
    # a collector just started may first read other containers' files).
    argv, _ = writer(seconds=60, rate=1000, stderr_every=4)
    container = spawn(argv, project_id=project_id, deployment_id=deployment_id)
    wait_shipping(running_log_stack, project_id, deployment_id, 1000, timeout=15)
    assert running_log_stack.collector is not None
    running_log_stack.collector.kill()
    running_log_stack.start_collector()
    time.sleep(AFTER_RESTART)  # the scenario: the runner writes on to the new collector
    total = stop_writing(container)
    assert_exact(wait_shown(running_log_stack, project_id, deployment_id, total, timeout=90), total)


def test_collector_stopped_for_a_while_resumes_where_it_stopped(
    running_log_stack: LogStack, spawn: Spawn
) -> None:
    project_id, deployment_id = ids()
    # Writes until stopped (COLLECTOR_DOWN + 60 s at most): stopped mid-stream, once it
    # ships (within 15 s), down COLLECTOR_DOWN s, then the runner writes on a while.
    argv, _ = writer(seconds=COLLECTOR_DOWN + 60, rate=300)
    assert running_log_stack.collector is not None
    container = spawn(argv, project_id=project_id, deployment_id=deployment_id)
    wait_shipping(running_log_stack, project_id, deployment_id, 300, timeout=15)
    running_log_stack.collector.stop()
    time.sleep(COLLECTOR_DOWN)  # the scenario: the collector stays down this long
    running_log_stack.start_collector()
    time.sleep(AFTER_RESTART)  # the scenario: the runner writes on to the new collector
    total = stop_writing(container)
    assert_exact(
        wait_shown(running_log_stack, project_id, deployment_id, total, timeout=120), total
    )


def test_live_tail_resumes_after_the_store_was_down_with_no_gap_or_repeat(
    running_log_stack: LogStack, spawn: Spawn
) -> None:
    """The tail ends with an error when the store goes; resumed from the last line's
    cursor once it is back, it delivers every line, and what it delivers again (lines
    that had come ahead of the cursor) the client drops by id, as the views do.

    Lines written while the store was down reach it when the collector's retry succeeds,
    seconds after their time: the tail's settled position waits for them, as it never
    passes the newest ingested line (the collector sends oldest first). Before that rule
    the resumed tail missed 40 to 180 of 1,400 lines here."""
    project_id, deployment_id = ids()
    argv, total = writer(seconds=14, rate=100)
    settings = running_log_stack.settings(log_tail_poll_seconds=0.25, log_tail_delay_seconds=3.0)
    query = LogQuery(
        project_id=project_id, deployment_id=deployment_id, direction="forward", limit=500
    )
    got: list[PagedEntry] = []
    shown: set[str] = set()

    async def follow(cursor: LogCursor | None, *, until: float) -> LogCursor | None:
        async with open_http_client(settings) as http:
            store = log_store(settings, http)
            this_tail: set[str] = set()
            try:
                async with asyncio.timeout(until - time.monotonic()):
                    async for item in store.tail(query, cursor=cursor):
                        assert item.entry.id not in this_tail, "one tail repeated a line"
                        this_tail.add(item.entry.id)
                        cursor = item.cursor
                        if item.entry.id in shown:
                            continue
                        shown.add(item.entry.id)
                        got.append(item)
                        if len(set(numbers(got))) >= total:
                            return cursor
            except (LogStoreUnavailable, TimeoutError):
                pass
        return cursor

    async def scenario() -> None:
        assert running_log_stack.store is not None
        start = LogCursor(timestamp_ns=time.time_ns())
        spawn(argv, project_id=project_id, deployment_id=deployment_id)
        # Follow ~5 s, then the store goes for ~5 s (the tail fails), then resume.
        stopper = asyncio.get_running_loop().run_in_executor(
            None,
            lambda: (time.sleep(5), running_log_stack.store.stop()),  # type: ignore[union-attr]
        )
        cursor = await follow(start, until=time.monotonic() + 30)
        await stopper
        await asyncio.sleep(5)
        await asyncio.get_running_loop().run_in_executor(None, running_log_stack.start_store)
        await follow(cursor, until=time.monotonic() + 60)

    asyncio.run(scenario())
    seen = numbers(got)
    assert len(seen) == len(set(seen)), "the resumed tail repeated lines"
    by_number = [item.entry.timestamp_ns for item in sorted(got, key=lambda i: numbers([i])[0])]
    assert by_number == sorted(by_number), "the tail broke the order"
    gap = sorted(set(range(total)) - set(seen))
    assert gap == [], f"the resumed tail missed {len(gap)} of {total} lines"
    assert_exact(wait_shown(running_log_stack, project_id, deployment_id, total, timeout=60), total)


# --- short-lived and removed runners ---------------------------------------------------


def test_a_runner_that_prints_500_lines_and_exits_at_once_loses_none(
    running_log_stack: LogStack, spawn: Spawn
) -> None:
    project_id, deployment_id = ids()
    container = spawn(numbered(500), project_id=project_id, deployment_id=deployment_id)
    container.wait(timeout=30)
    container.reload()
    started = container.attrs["State"]["StartedAt"]
    finished = container.attrs["State"]["FinishedAt"]
    print(f"\nshort-lived runner: started {started}, finished {finished}")
    assert_exact(wait_shown(running_log_stack, project_id, deployment_id, 500, timeout=30), 500)


def test_a_runner_removed_one_second_after_it_exits_loses_none(
    running_log_stack: LogStack, spawn: Spawn
) -> None:
    """The worker keeps a stopped runner (run_stop) until the cleanup job, a day later
    by default; a deleted deployment's runner goes at once, but nothing shows its lines
    then. This is the worst case anyway: removed 1 s after exit, with the collector up,
    every line was read (it polls every 200 ms and finishes files it has open)."""
    project_id, deployment_id = ids()
    container = spawn(numbered(5000), project_id=project_id, deployment_id=deployment_id)
    container.wait(timeout=30)
    time.sleep(1)  # the scenario: removed 1 s after it exits
    container.remove(force=True)
    assert_exact(wait_shown(running_log_stack, project_id, deployment_id, 5000, timeout=60), 5000)


# --- odd lines ------------------------------------------------------------------------


def _one(stack: LogStack, project_id: str, deployment_id: str, count: int) -> list[PagedEntry]:
    deadline = time.monotonic() + 60
    while True:
        items = shown(stack, project_id, deployment_id)
        if len(items) >= count or time.monotonic() > deadline:
            time.sleep(2.5)  # a line waiting in the recombine operator flushes after 2 s
            return shown(stack, project_id, deployment_id)
        time.sleep(0.5)


def test_a_1_mib_line_is_one_line_in_the_store(running_log_stack: LogStack, spawn: Spawn) -> None:
    project_id, deployment_id = ids()
    size = 1024 * 1024 - 1  # the collector joins parts up to 1 MiB with the "\n"
    container = spawn(
        ["sh", "-c", f"head -c {size} /dev/zero | tr '\\0' 'y'; echo; echo after"],
        project_id=project_id,
        deployment_id=deployment_id,
    )
    container.wait(timeout=30)
    items = _one(running_log_stack, project_id, deployment_id, 2)
    assert [len(item.entry.line) for item in items] == [size, len("after")]
    assert items[0].entry.line == "y" * size


def test_odd_lines_arrive_as_written(running_log_stack: LogStack, spawn: Spawn) -> None:
    """No final newline, bytes that are not UTF-8 (shown as U+FFFD), tabs."""
    project_id, deployment_id = ids()
    container = spawn(
        ["sh", "-c", "printf 'first\\n\\377\\376 not utf-8\\ttab\\nno final newline'"],
        project_id=project_id,
        deployment_id=deployment_id,
    )
    container.wait(timeout=30)
    items = _one(running_log_stack, project_id, deployment_id, 3)
    assert [item.entry.line for item in items] == [
        "first",
        "\ufffd\ufffd not utf-8\ttab",
        "no final newline",
    ]


def test_a_burst_of_100000_empty_lines(running_log_stack: LogStack, spawn: Spawn) -> None:
    """Counted with the volume histogram (rows stored) and through the pages (shown):
    empty lines differ only by their nanosecond, so the app would show two at one
    nanosecond as one; Docker's clock never gave two the same time here."""
    project_id, deployment_id = ids()
    total = 100_000
    container = spawn(
        ["sh", "-c", f"yes '' | head -n {total}; echo end"],
        project_id=project_id,
        deployment_id=deployment_id,
    )
    container.wait(timeout=60)
    deadline = time.monotonic() + 120
    while True:
        items = shown(running_log_stack, project_id, deployment_id)
        if (items and items[-1].entry.line == "end") or time.monotonic() > deadline:
            break
        time.sleep(1)
    # A quiet period, not a wait on a condition: a stray line after "end" would land
    # within it, and its absence can't be awaited.
    time.sleep(3)
    items = shown(running_log_stack, project_id, deployment_id)
    empty = [item for item in items if item.entry.line == ""]
    stamps = [item.entry.timestamp_ns for item in empty]
    assert len(empty) == total, f"{len(empty)} of {total} empty lines shown"
    assert len(set(stamps)) == total


def test_ten_thousand_branches(running_log_stack: LogStack, tmp_path: Path) -> None:
    """10,000 distinct branch names (recorded json-file lines, one per branch, read by a
    second collector): each is a stream of its own; the app finds any one and lists them."""
    from tests.logs.recorded import attrs, start_collector_on, write_container_log

    if running_log_stack.backend != "victorialogs":
        pytest.fail("this test starts a second collector of the embedded stack")
    project_id, deployment_id = ids()
    branches = [f"feature/b-{i:05d}" for i in range(10_000)]
    lines = [
        (
            f"seq {i}",
            attrs(
                project_id=project_id, environment_id="env-f", branch=b, deployment_id=deployment_id
            ),
        )
        for i, b in enumerate(branches)
    ]
    recorded = tmp_path / "containers"
    collector = start_collector_on(
        recorded, state_dir=tmp_path / "otelcol", victorialogs_url=running_log_stack.store_url
    )
    try:
        write_container_log(recorded, lines)
        items = wait_shown(running_log_stack, project_id, deployment_id, len(branches), timeout=120)
    finally:
        collector.child.stop()
    assert_exact(items, len(branches))
    assert {item.entry.labels["branch"] for item in items} == set(branches)

    async def one_branch_and_values() -> tuple[list[PagedEntry], list[str]]:
        settings = running_log_stack.settings()
        async with open_http_client(settings) as http:
            store = log_store(settings, http)
            query = LogQuery(project_id=project_id, branch="feature/b-04242", start=since())
            page = await store.page(query)
            everything = LogQuery(project_id=project_id, start=since(), end=time.time_ns())
            return list(page.items), await store.values(everything, "branch", limit=20_000)

    page, values = asyncio.run(one_branch_and_values())
    assert [item.entry.line for item in page] == ["seq 4242"]
    assert len(values) == len(branches)


# --- a slow store and a failing store, through the app ----------------------------------


class _Silent:
    """A TCP server that accepts connections and never answers (a store hung)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.conns.append(conn)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


class _Answer500(BaseHTTPRequestHandler):
    def _fail(self) -> None:
        body = b"internal error: storage is broken"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _fail

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=["slow", "500"])
def log_store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Overrides tests/fixtures/web.py's store for the tests below: hung, or failing."""
    if request.param == "slow":
        silent = _Silent()
        yield silent.url
        silent.close()
        return
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer500)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"log_store_timeout_seconds": 1.0})


def test_views_and_api_answer_in_time_with_a_clear_message(
    client: TestClient, two_teams: TwoTeams, log_store_url: str
) -> None:
    alice = two_teams.alice
    bearer = {"Authorization": f"Bearer {alice.token}"}
    api = f"/api/v1/projects/{alice.project_slug}/logs"
    calls: list[tuple[str, dict[str, str], dict[str, str]]] = [
        (api, {"deployment": alice.deployment_id}, bearer),
        (f"{api}/tail", {"cursor": f"{time.time_ns()}:"}, bearer),
    ]
    for path, params, headers in calls:
        started = time.monotonic()
        response = client.get(path, params=params, headers=headers)
        elapsed = time.monotonic() - started
        assert elapsed < 5, f"{path}: {elapsed:.1f}s"
        text = response.text
        if path.endswith("/tail"):
            assert response.status_code == 200 and '"error"' in text, text
        else:
            assert response.status_code == 503, text
        assert "did not answer in time" in text or "cannot reach the log store" in text, text

    log_in(client, alice.email)
    web = f"/projects/{alice.project_slug}/logs"
    for path, params in (
        (web, {}),
        (f"{web}/panel", {"deployment": alice.deployment_id}),
        (f"{web}/download", {"format": "txt"}),
        (f"{web}/stream", {"cursor": f"{time.time_ns()}:"}),
    ):
        started = time.monotonic()
        response = client.get(path, params=params)
        elapsed = time.monotonic() - started
        assert elapsed < 5, f"{path}: {elapsed:.1f}s"
        assert "did not answer in time" in response.text or "cannot reach the log store" in (
            response.text
        ), (path, response.status_code, response.text[:500])


# --- the store down 90 s, on a stack of its own, beside the tests above -----------------

STORE_OUTAGE_TEST = "test_store_stopped_while_runners_write_then_nothing_lost"


@dataclass
class StoreOutage:
    """The store's outage on a log stack of its own, run in a thread while the module's
    other tests run on the shared stack; its test, last in the module, checks it."""

    stack: LogStack
    spawn: Spawn
    project_id: str = field(default_factory=lambda: f"proj-{uuid.uuid4().hex[:10]}")
    deployments: list[str] = field(
        default_factory=lambda: [f"dep-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    )
    total: int = 0
    down_seconds: float = 0.0
    lines: dict[str, list[PagedEntry]] = field(default_factory=dict)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def run(self) -> None:
        """Two runners write while the store is down; the collector queues on disk.

        What bounds the wait: the collector keeps reading into its disk queue (1 GiB,
        about 6 million short lines); only once that is full does it stop reading, and
        then rotation (10m x 5 = 50 MiB of json-file per runner, about 230 bytes a short
        line) deletes unread lines (tests/logs/test_collector_queue.py fills a small
        queue on purpose).
        """
        try:
            argv, self.total = writer(seconds=STORE_DOWN, rate=500)
            assert self.stack.store is not None
            self.stack.store.stop()
            started = time.monotonic()
            containers = [
                self.spawn(argv, project_id=self.project_id, deployment_id=dep)
                for dep in self.deployments
            ]
            for container in containers:
                container.wait(timeout=STORE_DOWN + 120)
            self.down_seconds = time.monotonic() - started
            self.stack.start_store()
            for dep in self.deployments:
                self.lines[dep] = wait_shown(
                    self.stack, self.project_id, dep, self.total, timeout=120
                )
        except BaseException as exc:  # handed to the test
            self.error = exc

    def wait(self) -> None:
        """Until the run ends; its error, if any, raised here."""
        assert self.thread is not None
        self.thread.join(timeout=STORE_DOWN + 360)
        assert not self.thread.is_alive(), "the store outage's run did not end"
        if self.error is not None:
            raise self.error


@pytest.fixture(scope="module", autouse=True)
def store_outage(
    request: pytest.FixtureRequest,
    docker_client: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StoreOutage | None]:
    """Starts the store's outage with the module's first test, on a stack of its own
    (the same backend as ``--log-store``), so the others run during its wait (it is
    real: the store is down STORE_DOWN s). Nothing starts when its test is not selected."""
    if not any(item.name == STORE_OUTAGE_TEST for item in request.session.items):
        yield None
        return
    backend = request.config.getoption("--log-store")
    try:
        stack = start_log_stack(backend, tmp_path_factory.mktemp(f"outage-{backend}"))
    except BinaryNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
    runners = Runners(docker_client)
    outage = StoreOutage(stack=stack, spawn=spawner(runners))
    try:
        outage.thread = threading.Thread(target=outage.run, name="store outage")
        outage.thread.start()
        yield outage
    finally:
        if outage.thread is not None:
            outage.thread.join(timeout=STORE_DOWN + 360)
        runners.remove_all()
        stack.stop()


def test_store_stopped_while_runners_write_then_nothing_lost(
    store_outage: StoreOutage | None,
) -> None:
    """The store down STORE_DOWN s while two runners write (the fixture runs it beside
    the module's other tests): every line shown once, in order, once it is back."""
    outage = store_outage
    assert outage is not None, "the outage fixture starts when this test is selected"
    outage.wait()
    assert outage.down_seconds >= STORE_DOWN * 0.9
    for dep in outage.deployments:
        assert_exact(outage.lines[dep], outage.total)
