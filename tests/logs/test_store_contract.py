"""One behavioural contract for every log store, fed through its real collector.

Lines come from real runner containers (json-file logs with the devpush labels), travel
through the collector into the store, and are read back through ``devpush.logs.store``'s
interface. The suite runs on VictoriaLogs by default and unchanged on Loki with
``--log-store=loki`` (tests/fixtures/logstack.py).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest

from devpush.logs.errors import InvalidSearch
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.logs.query import LogQuery
from devpush.logs.store import LogStore
from devpush.services.log_store import log_store, open_http_client
from devpush.services.logs import volume_bars
from tests.fixtures.logstack import drain

pytestmark = pytest.mark.docker

T = TypeVar("T")
#: How long a line may take from a runner to being searchable, with margin.
ARRIVAL_TIMEOUT = 30.0


def project() -> str:
    return f"proj-{uuid.uuid4().hex[:10]}"


def store_call(stack: Any, body: Callable[[LogStore], Awaitable[T]], **overrides: Any) -> T:
    settings = stack.settings(**overrides)

    async def run() -> T:
        async with open_http_client(settings) as http:
            return await body(log_store(settings, http))

    return asyncio.run(run())


def since(seconds: float = 600) -> int:
    return time.time_ns() - int(seconds * 1e9)


def wait_for(stack: Any, query: LogQuery, count: int) -> list[PagedEntry]:
    """All entries of ``query`` once ``count`` are searchable (fails after the timeout)."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while True:
        found = store_call(stack, lambda store: drain(store, query))
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def numbered(prefix: str, count: int) -> list[bytes]:
    return [f"{prefix} {i:05d}\n".encode() for i in range(count)]


def test_lines_arrive_once_with_fields_time_and_text(running_log_stack, emit) -> None:  # type: ignore[no-untyped-def]
    runner = emit(
        _runner(),
        stdout=[b"plain line\n", b'{"level":"error","msg":"boom"}\n', b"\xff\xfe bad utf-8\n"],
        stderr=[b"to stderr\n"],
    )
    query = LogQuery(project_id=runner.project_id, start=since(), direction="forward", limit=50)
    items = wait_for(running_log_stack, query, 4)
    lines = sorted(item.entry.line for item in items)
    assert lines == sorted(
        ["plain line", '{"level":"error","msg":"boom"}', "\ufffd\ufffd bad utf-8", "to stderr"]
    )
    for item in items:
        labels = item.entry.labels
        assert labels["deployment_id"] == runner.deployment_id
        assert labels["environment_id"] == runner.environment_id
        assert labels["branch"] == runner.branch
        assert labels["stream"] == ("stderr" if item.entry.line == "to stderr" else "stdout")
        assert abs(item.entry.timestamp_ns - time.time_ns()) < 120 * 10**9


def _runner(**kwargs: str) -> Any:
    from tests.fixtures.logstack import Runner

    return Runner(project_id=kwargs.pop("project_id", project()), **kwargs)


def test_paging_both_ways_has_no_gap_and_no_repeat(running_log_stack, emit) -> None:  # type: ignore[no-untyped-def]
    runner = emit(_runner(), stdout=numbered("out", 120), stderr=numbered("err", 80))
    everything = LogQuery(project_id=runner.project_id, start=since(), limit=1000)
    assert len(wait_for(running_log_stack, everything, 200)) == 200
    for direction in ("backward", "forward"):
        query = LogQuery(project_id=runner.project_id, start=since(), direction=direction, limit=7)
        # A per-request cap below the page size makes every page take several requests.
        items = store_call(
            running_log_stack,
            lambda store, q=query: drain(store, q),
            log_store_max_entries_per_query=5,
        )
        lines = [item.entry.line for item in items]
        assert len(lines) == len(set(lines)) == 200, direction
        stamps = [item.entry.timestamp_ns for item in items]
        assert stamps == sorted(stamps, reverse=direction == "backward")
        # Per stream, the runner's order is kept.
        outs = [line for line in lines if line.startswith("out")]
        assert outs == sorted(outs, reverse=direction == "backward")


def test_search_matches_only_itself_and_regex_is_re2(running_log_stack, emit) -> None:  # type: ignore[no-untyped-def]
    hostile = 'a.b*(c)|"q"\\ ünï {x} $HOME'
    runner = emit(
        _runner(),
        stdout=[
            f"{hostile} exact\n".encode(),
            f"{hostile.upper()} upper\n".encode(),
            b'aXb*(c)|"q"\\ near miss\n',
            b"ERROR code=42\n",
            b"error code=7\n",
        ],
    )
    base = {"project_id": runner.project_id, "start": since(), "direction": "forward"}
    wait_for(running_log_stack, LogQuery(**base), 5)

    def lines(**kwargs: Any) -> list[str]:
        query = LogQuery(**base, **kwargs)
        return sorted(
            i.entry.line for i in store_call(running_log_stack, lambda s: drain(s, query))
        )

    assert lines(search=hostile) == sorted([f"{hostile} exact", f"{hostile.upper()} upper"])
    assert lines(search="code=") == ["ERROR code=42", "error code=7"]
    assert lines(search=r"^error code=\d+$", search_mode="regex") == ["error code=7"]
    assert lines(search=r"(?i)^error code=\d{2}$", search_mode="regex") == ["ERROR code=42"]
    assert lines(search='"} or {project_id=~".+') == []
    with pytest.raises(InvalidSearch):
        store_call(
            running_log_stack, lambda s: s.page(LogQuery(**base, search="(", search_mode="regex"))
        )


def test_filters_and_time_range(running_log_stack, emit) -> None:  # type: ignore[no-untyped-def]
    pid = project()
    main = emit(
        _runner(project_id=pid, branch="main", environment_id="prod"),
        stdout=[b"INFO main up\n"],
        stderr=[b"ERROR main down\n"],
    )
    feature = emit(
        _runner(project_id=pid, branch='feat/x"y', environment_id="preview"),
        stdout=[b"WARN feature\n"],
    )
    start = since()
    wait_for(running_log_stack, LogQuery(project_id=pid, start=start), 3)

    def lines(**kwargs: Any) -> list[str]:
        query = LogQuery(project_id=pid, start=kwargs.pop("start", start), **kwargs)
        return sorted(
            i.entry.line for i in store_call(running_log_stack, lambda s: drain(s, query))
        )

    assert lines(branch="main") == ["ERROR main down", "INFO main up"]
    assert lines(branch='feat/x"y') == ["WARN feature"]
    assert lines(environment_id="preview") == ["WARN feature"]
    assert lines(deployment_id=main.deployment_id, stream="stderr") == ["ERROR main down"]
    assert lines(stream="stdout") == ["INFO main up", "WARN feature"]
    assert lines(level="error") == ["ERROR main down"]
    assert lines(level="warning") == ["WARN feature"]
    assert lines(deployment_id=feature.deployment_id) == ["WARN feature"]
    now = time.time_ns()
    assert lines(start=now, end=now + 10**9) == []
    everything = store_call(
        running_log_stack, lambda s: drain(s, LogQuery(project_id=pid, start=start))
    )
    newest = max(i.entry.timestamp_ns for i in everything)
    # ``end`` is exclusive, ``start`` inclusive.
    assert len(lines(end=newest)) == 2
    assert len(lines(start=newest)) == 1
    values = store_call(
        running_log_stack, lambda s: s.values(LogQuery(project_id=pid, start=start), "branch")
    )
    assert values == ['feat/x"y', "main"]


def test_histogram_totals_equal_the_line_count(running_log_stack, emit) -> None:  # type: ignore[no-untyped-def]
    runner = emit(_runner(), stdout=numbered("out", 150), stderr=numbered("err", 50))
    start = since(120)
    wait_for(running_log_stack, LogQuery(project_id=runner.project_id, start=start), 200)
    query = LogQuery(project_id=runner.project_id, start=start, end=time.time_ns())
    bars = store_call(running_log_stack, lambda s: volume_bars(s, query))
    assert sum(bar.stdout for bar in bars) == 150
    assert sum(bar.stderr for bar in bars) == 50
    series = store_call(running_log_stack, lambda s: s.volume(query, step=timedelta(seconds=10)))
    assert sum(p.count for one in series for p in one.points) == 200


def test_tail_resumes_with_no_gap_and_no_repeat(running_log_stack, emit) -> None:  # type: ignore[no-untyped-def]
    runner = _runner()
    query = LogQuery(project_id=runner.project_id, direction="forward")
    overrides = {"log_tail_poll_seconds": 0.2}

    async def take(
        store: LogStore, count: int, cursor: LogCursor | None, shown: frozenset[str] = frozenset()
    ) -> list[PagedEntry]:
        # As a client does: a resumed tail may deliver again what came ahead of its
        # cursor; those are dropped by entry id.
        got: list[PagedEntry] = []
        async for item in store.tail(query, cursor=cursor):
            assert item.entry.id not in {i.entry.id for i in got}, "one tail repeated a line"
            if item.entry.id in shown:
                continue
            got.append(item)
            if len(got) == count:
                return got
        return got

    async def first_part(store: LogStore) -> list[PagedEntry]:
        task = asyncio.create_task(take(store, 30, None))
        await asyncio.sleep(0.5)  # the tail starts "from now": emit after it started
        await asyncio.to_thread(emit, runner, numbered("tail", 60))
        return await asyncio.wait_for(task, ARRIVAL_TIMEOUT)

    first = store_call(running_log_stack, first_part, **overrides)
    rest = store_call(
        running_log_stack,
        lambda s: asyncio.wait_for(
            take(
                s,
                30,
                LogCursor.decode(first[-1].cursor.encode()),
                frozenset(item.entry.id for item in first),
            ),
            ARRIVAL_TIMEOUT,
        ),
        **overrides,
    )
    lines = [item.entry.line for item in first + rest]
    assert lines == [line.decode().rstrip("\n") for line in numbered("tail", 60)]


def test_isolation_no_query_of_one_project_returns_anothers_line(running_log_stack, emit) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = _runner(), _runner(branch="main")
    emit(mine, stdout=[b"mine\n"])
    emit(theirs, stdout=[b"secret of B\n", b'"} or {project_id=~".+\n'])
    start = since()
    wait_for(running_log_stack, LogQuery(project_id=theirs.project_id, start=start), 2)
    wait_for(running_log_stack, LogQuery(project_id=mine.project_id, start=start), 1)
    hostile = ['") or (', '"} or {project_id=~".+', "*", ".*", "\\", "secret of B", "|"]
    for value in hostile:
        for kwargs in (
            {"search": value},
            {"search": ".*", "search_mode": "regex"},
            {"branch": value},
            {"environment_id": value},
            {"deployment_id": theirs.deployment_id},
            {"branch": "main", "environment_id": theirs.environment_id},
        ):
            query = LogQuery(project_id=mine.project_id, start=start, **kwargs)  # type: ignore[arg-type]
            items = store_call(running_log_stack, lambda s, q=query: drain(s, q))
            assert all(item.entry.labels["project_id"] == mine.project_id for item in items)
            assert "secret of B" not in [item.entry.line for item in items]


def test_tail_delivers_lines_that_arrive_late_once(running_log_stack, emit) -> None:  # type: ignore[no-untyped-def]
    # Lines written while the collector is down reach the store late, with older
    # timestamps than lines the tail already showed: the settled pass still delivers
    # them, and the resumable cursor never repeats one.
    runner = _runner()
    query = LogQuery(project_id=runner.project_id, direction="forward")
    overrides = {"log_tail_poll_seconds": 0.2, "log_tail_delay_seconds": 8.0}

    async def scenario(store: LogStore) -> list[PagedEntry]:
        got: list[PagedEntry] = []
        first_half = asyncio.Event()

        async def collect() -> None:
            async for item in store.tail(query):
                got.append(item)
                if len(got) == 20:
                    first_half.set()
                if len(got) == 40:
                    return

        task = asyncio.create_task(collect())
        await asyncio.sleep(0.5)
        await asyncio.to_thread(emit, runner, numbered("before", 20))
        await asyncio.wait_for(first_half.wait(), ARRIVAL_TIMEOUT)
        running_log_stack.collector.stop()
        late = _runner(project_id=runner.project_id, deployment_id=runner.deployment_id)
        await asyncio.to_thread(emit, late, numbered("late", 20))
        await asyncio.sleep(1.0)
        await asyncio.to_thread(running_log_stack.start_collector)
        await asyncio.wait_for(task, ARRIVAL_TIMEOUT)
        return got

    items = store_call(running_log_stack, scenario, **overrides)
    lines = [item.entry.line for item in items]
    assert sorted(lines) == sorted(
        [line.decode().rstrip("\n") for line in numbered("before", 20) + numbered("late", 20)]
    )
    assert len({item.entry.id for item in items}) == len(items), "one tail repeated a line"
    # A tail resumed from the last cursor brings nothing new: at most lines already shown.
    last = LogCursor.decode(items[-1].cursor.encode())
    shown = frozenset(item.entry.id for item in items)
    again = store_call(
        running_log_stack,
        lambda s: _first_within(s.tail(query, cursor=last), 3.0, shown=shown),
        **overrides,
    )
    assert again is None


async def _first_within(items: Any, seconds: float, *, shown: frozenset[str] = frozenset()) -> Any:
    """The first item of an endless tail not in ``shown`` (ids) within ``seconds``, or None."""

    async def first() -> Any:
        async for item in items:
            if item.entry.id not in shown:
                return item
        return None

    try:
        return await asyncio.wait_for(first(), seconds)
    except TimeoutError:
        return None
