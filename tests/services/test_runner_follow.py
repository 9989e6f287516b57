"""The live view follows a running deployment's runners through Docker, with the store.

Real engine, real collector and store (``--log-store``, VictoriaLogs by default), and the
app's read-only socket-proxy door (Docker/docker-proxy/app.env, rendered for Debian's
haproxy as in Compose). Lines are read as the SSE view and the API read them: through
the shared tail (``tail_events``). Each test counts 0 lost and 0 doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from devpush.core.config import Settings
from devpush.logs.entries import LogEntry
from devpush.logs.paging import LogCursor
from devpush.logs.query import LogQuery
from devpush.services import runner_follow
from devpush.services.log_store import log_store, open_http_client
from devpush.services.logs import LogLine, tail_events
from devpush_dev.log_stacks import LogStack
from devpush_dev.ports import free_port
from devpush_dev.socket_proxy import (
    APP_DOOR,
    SocketProxy,
    socket_path_from_docker_host,
    start_socket_proxy,
)
from tests.fixtures.numbered_lines import (
    Spawn,
    ids,
    stop_writing,
    writer,
)

pytestmark = pytest.mark.docker


def start_door(state_dir: Path, port: int | None = None) -> SocketProxy:
    return start_socket_proxy(
        env_file=APP_DOOR,
        port=port or free_port(),
        state_dir=state_dir,
        socket_path=socket_path_from_docker_host(Settings().docker_host),
    )


@pytest.fixture
def door(tmp_path: Path) -> Iterator[SocketProxy]:
    proxy = start_door(tmp_path / "door")
    try:
        yield proxy
    finally:
        proxy.stop()


class Counted:
    """The lines one viewer was shown, and how many Docker's follow handed over."""

    def __init__(self) -> None:
        self.lines: list[LogLine] = []
        self.followed = 0


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counted:
    """Counts what the Docker follow yields (the real follow: only counted)."""
    seen = Counted()
    real = runner_follow.follow_runner

    async def counting(*args: object, **kwargs: object) -> AsyncIterator[list[LogEntry]]:
        async for entries in real(*args, **kwargs):  # type: ignore[arg-type]
            seen.followed += len(entries)
            yield entries

    monkeypatch.setattr(runner_follow, "follow_runner", counting)
    return seen


async def watch(
    settings: Settings,
    query: LogQuery,
    out: Counted,
    *,
    until: int,
    seconds: float,
) -> None:
    """Follow ``query`` as a viewer until ``until`` distinct lines came or ``seconds``."""
    async with open_http_client(settings) as http:
        store = log_store(settings, http)
        cursor = LogCursor(timestamp_ns=time.time_ns() - 5 * 10**9)

        async def read() -> None:
            async for kind, item in tail_events(store, query, cursor, max_chars=None):
                assert kind == "line", item
                assert isinstance(item, LogLine)
                out.lines.append(item)
                if len({line.id for line in out.lines}) >= until:
                    return

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(read(), seconds)


#: After the last expected line, how long a viewer keeps reading for late doubles.
QUIET_SECONDS = 3.0


def assert_once(lines: list[LogLine], total: int) -> None:
    numbers = [int(line.line.split()[1]) for line in lines if line.line.startswith("seq ")]
    ids_shown = [line.id for line in lines]
    missing = sorted(set(range(total)) - set(numbers))
    assert not missing, f"{len(missing)} of {total} lost (first {missing[:10]})"
    assert len(ids_shown) == len(set(ids_shown)), "a line was shown twice"
    assert len(numbers) == total, f"{len(numbers) - total} doubled"


def insert_request_entries(stack: LogStack, project_id: str, deployment_id: str, n: int) -> None:
    """Request entries of the deployment, as the collector stores Caddy's access log."""
    now = time.time_ns()
    rows = [
        json.dumps(
            {
                "_time": str(now + i),
                "_msg": f"GET /r{i} 200",
                "project_id": project_id,
                "environment_id": "env-1",
                "branch": "main",
                "deployment_id": deployment_id,
                "source": "request",
            }
        )
        for i in range(n)
    ]
    httpx.post(
        f"{stack.store_url}/insert/jsonline",
        params={"_stream_fields": "project_id,environment_id,branch,deployment_id,source"},
        content="\n".join(rows) + "\n",
    ).raise_for_status()


def test_lines_come_through_docker_while_the_runner_runs_then_the_store(
    running_log_stack: LogStack,
    spawn: Spawn,
    door: SocketProxy,
    counted: Counted,
) -> None:
    if running_log_stack.backend != "victorialogs":
        pytest.fail("this test inserts request entries the VictoriaLogs way")
    settings = running_log_stack.settings(log_follow_docker_host=door.url)
    project_id, deployment_id = ids()
    query = LogQuery(project_id=project_id, deployment_id=deployment_id)
    argv, total = writer(seconds=3, rate=500, stderr_every=3)
    requests = 20

    async def run() -> None:
        viewer = asyncio.create_task(
            watch(settings, query, counted, until=total + requests, seconds=40)
        )
        await asyncio.sleep(1.0)  # the viewer is following before the runner starts
        container = spawn(argv, project_id=project_id, deployment_id=deployment_id)
        await asyncio.to_thread(container.wait, timeout=30)
        # After the runner exited: entries only the store has (the proxy's requests).
        insert_request_entries(running_log_stack, project_id, deployment_id, requests)
        await viewer

    asyncio.run(run())
    print(f"\n{counted.followed} of {total} lines came through Docker's follow")
    assert_once(counted.lines, total)
    got_requests = [line for line in counted.lines if line.source == "request"]
    assert len(got_requests) == requests, "the store's entries did not come after the exit"
    assert counted.followed >= total // 2, f"Docker's follow gave only {counted.followed} lines"


def test_a_viewer_of_another_project_gets_nothing_of_this_runner(
    running_log_stack: LogStack,
    spawn: Spawn,
    door: SocketProxy,
    counted: Counted,
) -> None:
    settings = running_log_stack.settings(log_follow_docker_host=door.url)
    project_id, deployment_id = ids()
    other_project, _ = ids()
    # Another team's viewer names this deployment under its own project: the scope is the
    # project the server authorised, and Docker is asked for both labels.
    query = LogQuery(project_id=other_project, deployment_id=deployment_id)
    argv, _total = writer(seconds=3, rate=200)

    async def run() -> None:
        async with runner_follow.docker_client(door.url, timeout=10) as http:
            viewer = asyncio.create_task(watch(settings, query, counted, until=1, seconds=8))
            container = spawn(argv, project_id=project_id, deployment_id=deployment_id)
            await asyncio.sleep(1.0)
            assert await runner_follow.running_runners(http, query) == []
            own = LogQuery(project_id=project_id, deployment_id=deployment_id)
            assert [
                r.labels["project_id"] for r in await runner_follow.running_runners(http, own)
            ] == [project_id]
            await viewer
            await asyncio.to_thread(container.wait, timeout=30)

    asyncio.run(run())
    assert counted.lines == [] and counted.followed == 0


def test_the_door_refuses_anything_but_reads(door: SocketProxy) -> None:
    answer = httpx.post(f"{door.http_url}/containers/create", json={"Image": "x"})
    assert answer.status_code == 403
    assert httpx.get(f"{door.http_url}/images/json").status_code == 403


def test_a_follow_that_breaks_falls_back_to_the_store_with_nothing_lost(
    running_log_stack: LogStack,
    spawn: Spawn,
    tmp_path: Path,
    counted: Counted,
) -> None:
    """The door goes away mid-stream and comes back; the runner is then killed."""
    port = free_port()
    proxy = start_door(tmp_path / "door", port)
    settings = running_log_stack.settings(log_follow_docker_host=proxy.url)
    project_id, deployment_id = ids()
    query = LogQuery(project_id=project_id, deployment_id=deployment_id)
    argv, total = writer(seconds=6, rate=500)

    printed = 0

    async def run() -> None:
        nonlocal proxy, printed
        viewer = asyncio.create_task(watch(settings, query, counted, until=total, seconds=40))
        await asyncio.sleep(1.0)
        container = spawn(argv, project_id=project_id, deployment_id=deployment_id)
        await asyncio.sleep(1.5)
        proxy.stop()  # the follow breaks: the store tail carries on
        await asyncio.sleep(2.0)
        proxy = start_door(tmp_path / "door", port)  # taken up again from its last line
        await asyncio.sleep(1.0)
        # The kill cuts the runner short: what it printed is what Docker kept of it.
        printed = await asyncio.to_thread(stop_writing, container)
        # The viewer ends once it showed them all, then a quiet period in which a late
        # double would show (it waited its whole 40 s before, as it never reaches total).
        deadline = time.monotonic() + 40
        while len({line.id for line in counted.lines}) < printed and not viewer.done():
            assert time.monotonic() < deadline, "the viewer did not show every printed line"
            await asyncio.sleep(0.1)
        await asyncio.sleep(QUIET_SECONDS)
        viewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await viewer

    try:
        asyncio.run(run())
    finally:
        proxy.stop()
    print(f"\n{printed} lines printed and shown, {counted.followed} through Docker's follow")
    assert_once(counted.lines, printed)
    assert printed >= total // 3, f"only {printed} of {total} printed before the kill"
    assert counted.followed > 0


def test_frames_join_a_long_line_and_read_both_streams() -> None:
    labels = {"project_id": "p", "deployment_id": "d"}
    frames = runner_follow.Frames(labels)

    def frame(kind: int, text: bytes) -> bytes:
        return bytes([kind, 0, 0, 0]) + len(text).to_bytes(4, "big") + text

    stamp = b"2026-01-02T03:04:05.123456789Z "
    later = b"2026-01-02T03:04:06.000000001Z "
    part = b"x" * 16384
    data = (
        frame(1, stamp + b"one\n")
        + frame(2, stamp + part)
        + frame(2, later + b"end\n")
        + frame(1, later + b"\n")
    )
    got: list[LogEntry] = []
    for i in range(0, len(data), 7):  # cut anywhere, as a socket does
        got += frames.feed(data[i : i + 7])
    assert [(e.line[:3], e.stream, len(e.line)) for e in got] == [
        ("one", "stdout", 3),
        ("xxx", "stderr", 16387),
        ("", "stdout", 0),
    ]
    assert got[1].timestamp_ns == 1767323045123456789  # the first part's time
    assert got[0].labels == {**labels, "stream": "stdout"}


def test_only_plain_queries_of_one_deployment_follow_docker() -> None:
    assert runner_follow.follows(LogQuery(project_id="p", deployment_id="d"))
    assert runner_follow.follows(LogQuery(project_id="p", deployment_id="d", stream="stderr"))
    assert not runner_follow.follows(LogQuery(project_id="p"))
    assert not runner_follow.follows(LogQuery(project_id="p", deployment_id="d", search="x"))
    assert not runner_follow.follows(LogQuery(project_id="p", deployment_id="d", level="error"))
    assert not runner_follow.follows(LogQuery(project_id="p", deployment_id="d", stream="request"))


def test_with_the_door_gone_for_good_the_store_brings_the_rest(
    running_log_stack: LogStack,
    spawn: Spawn,
    tmp_path: Path,
    counted: Counted,
) -> None:
    proxy = start_door(tmp_path / "door")
    settings = running_log_stack.settings(log_follow_docker_host=proxy.url)
    project_id, deployment_id = ids()
    query = LogQuery(project_id=project_id, deployment_id=deployment_id)
    argv, total = writer(seconds=4, rate=500)

    async def run() -> None:
        viewer = asyncio.create_task(watch(settings, query, counted, until=total, seconds=40))
        await asyncio.sleep(1.0)
        spawn(argv, project_id=project_id, deployment_id=deployment_id)
        await asyncio.sleep(1.5)
        proxy.stop()  # the follow breaks and cannot be taken up again
        await viewer

    try:
        asyncio.run(run())
    finally:
        proxy.stop()
    print(f"\n{counted.followed} of {total} lines through Docker's follow, the rest from the store")
    assert_once(counted.lines, total)
    assert 0 < counted.followed < total
