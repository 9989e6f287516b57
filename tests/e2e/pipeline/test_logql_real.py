"""LogQL from devpush.services.loki run by a real Loki: it parses, and matches exactly.

Entries are pushed straight to Loki's push API with chosen labels and timestamps
(hostile label values, many lines sharing one nanosecond), then read back through
LokiStore. Collected only with ``pytest --pipeline`` (needs the Loki binary).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from devpush.core.config import Settings
from devpush.logs.errors import InvalidSearch, LogStoreQueryError
from devpush.logs.levels import detect_level
from devpush.logs.paging import LogCursor
from devpush.logs.query import LogQuery
from devpush.services.log_store import open_http_client
from devpush.services.loki import LokiStore

pytestmark = pytest.mark.docker

Line = tuple[dict[str, str], int, str]  # labels, ts_ns, line


def run(loki_url: str, body: Callable[[LokiStore], Awaitable[Any]], **overrides: Any) -> Any:
    settings = Settings(loki_url=loki_url, **overrides)

    async def main() -> Any:
        async with open_http_client(settings) as http:
            return await body(LokiStore(http, settings=settings))

    return asyncio.run(main())


def push(loki_url: str, lines: list[Line]) -> None:
    streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
    for labels, ts, line in lines:
        streams.setdefault(tuple(sorted(labels.items())), []).append([str(ts), line])
    body = {"streams": [{"stream": dict(k), "values": v} for k, v in streams.items()]}
    response = httpx.post(f"{loki_url}/loki/api/v1/push", json=body, timeout=10)
    assert response.status_code == 204, response.text


def labels(project_id: str, stream: str = "stdout", **extra: str) -> dict[str, str]:
    return {"project_id": project_id, "job": "docker", "stream": stream, **extra}


def wait_visible(loki_url: str, query: LogQuery, count: int) -> None:
    """Pushed entries are queryable from the ingester almost at once; wait for them."""
    deadline = time.monotonic() + 20
    while True:
        page = run(loki_url, lambda loki: loki.page(query))
        if len(page.items) >= count or time.monotonic() > deadline:
            assert len(page.items) >= count, f"Loki shows {len(page.items)} of {count} entries"
            return
        time.sleep(0.2)


async def drain(loki: LokiStore, query: LogQuery) -> list[str]:
    lines: list[str] = []
    cursor: LogCursor | None = None
    for _ in range(1000):
        page = await loki.page(query, cursor=cursor)
        lines += [item.entry.line for item in page.items]
        cursor = page.cursor
        if page.exhausted:
            return lines
    raise AssertionError("paging did not finish")


@pytest.fixture
def base_ns() -> int:
    return time.time_ns() - 120 * 1_000_000_000


def test_hostile_label_values_select_exactly_their_stream(loki_server, base_ns: int) -> None:
    uid = uuid.uuid4().hex
    hostile = f'{uid}"}} or {{project_id=~".+'
    branch = 'feat/`x` |= "y" \\ é 日本 {}'
    push(
        loki_server.url,
        [
            (labels(hostile, branch=branch), base_ns, "mine"),
            (labels(uid, branch=branch), base_ns + 1, "neighbour with the id prefix"),
            (labels(hostile, branch="main"), base_ns + 2, "other branch"),
        ],
    )
    query = LogQuery(project_id=hostile, branch=branch, start=base_ns - 1, end=base_ns + 10)
    wait_visible(loki_server.url, LogQuery(project_id=uid, start=base_ns - 1), 1)
    page = run(loki_server.url, lambda loki: loki.page(query))
    assert [item.entry.line for item in page.items] == ["mine"]
    assert page.items[0].entry.labels["branch"] == branch


SEARCH_LINES = [
    "a.b dot",
    "aXb not a dot",
    'say "hi" quoted',
    "C:\\temp backslash",
    'pipe |= "x" | json',
    "} or { braces",
    "Hello World",
    "HELLO WORLD",
    "tick `x` tick",
    "Grüße 日本",
    "(paren) [bracket] ^caret$ *star+ ?q",
]


@pytest.mark.parametrize(
    "search",
    [
        "a.b",
        'say "hi"',
        "C:\\temp",
        '|= "x"',
        "} or {",
        "hello world",
        "`x`",
        "Grüße 日本",
        "[bracket] ^caret$",
        "*star+ ?",
        "(paren)",
    ],
)
def test_plain_search_matches_exact_substrings(loki_server, base_ns: int, search: str) -> None:
    uid = uuid.uuid4().hex
    push(loki_server.url, [(labels(uid), base_ns + i, line) for i, line in enumerate(SEARCH_LINES)])
    wait_visible(loki_server.url, LogQuery(project_id=uid, start=base_ns), len(SEARCH_LINES))
    query = LogQuery(project_id=uid, search=search, start=base_ns, direction="forward")
    got = run(loki_server.url, lambda loki: drain(loki, query))
    assert got == [line for line in SEARCH_LINES if search.lower() in line.lower()]


def test_regex_search_and_invalid_regex(loki_server, base_ns: int) -> None:
    uid = uuid.uuid4().hex
    lines = ["error 42", "err   7", "errors", "warning 1", "ERROR 9"]
    push(loki_server.url, [(labels(uid), base_ns + i, line) for i, line in enumerate(lines)])
    wait_visible(loki_server.url, LogQuery(project_id=uid, start=base_ns), len(lines))
    query = LogQuery(
        project_id=uid,
        search=r"^err(or)?\s+\d+$",
        search_mode="regex",
        start=base_ns,
        direction="forward",
    )
    assert run(loki_server.url, lambda loki: drain(loki, query)) == ["error 42", "err   7"]
    bad = LogQuery(project_id=uid, search="(?=x)", search_mode="regex", start=base_ns)
    with pytest.raises(InvalidSearch):
        run(loki_server.url, lambda loki: loki.page(bad))


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_paging_across_shared_nanoseconds(loki_server, base_ns: int, direction: str) -> None:
    uid = uuid.uuid4().hex
    lines: list[Line] = []
    for i in range(40):
        ts = base_ns + (i // 7)  # 7 entries per nanosecond, across two streams
        lines.append((labels(uid, "stderr" if i % 3 == 0 else "stdout"), ts, f"line {i}"))
    push(loki_server.url, lines)
    wait_visible(loki_server.url, LogQuery(project_id=uid, start=base_ns, limit=1000), 40)
    for page_size in (1, 3, 5, 8):
        query = LogQuery(project_id=uid, start=base_ns, limit=page_size, direction=direction)
        got = run(loki_server.url, lambda loki, q=query: drain(loki, q))
        assert sorted(got) == sorted(line for _, _, line in lines), page_size
        assert len(got) == 40
    # And with Loki's per-query cap below the entries at one nanosecond plus a page.
    query = LogQuery(project_id=uid, start=base_ns, limit=3, direction=direction)
    got = run(loki_server.url, lambda loki: drain(loki, query), log_store_max_entries_per_query=9)
    assert sorted(got) == sorted(line for _, _, line in lines)


def test_stream_and_level_filters(loki_server, base_ns: int) -> None:
    uid = uuid.uuid4().hex
    lines = [
        ("stdout", "INFO started"),
        ("stderr", "npm ERR! code ELIFECYCLE"),
        ("stdout", '{"level":"error","msg":"x"}'),
        ("stdout", '{"msg":"ERROR in message","level":"info"}'),
        ("stderr", "[WARN] deprecated"),
        ("stderr", "plain progress on stderr"),
        ("stdout", "level=error msg=boom"),
    ]
    push(loki_server.url, [(labels(uid, s), base_ns + i, t) for i, (s, t) in enumerate(lines)])
    wait_visible(loki_server.url, LogQuery(project_id=uid, start=base_ns), len(lines))

    def select(**kwargs: Any) -> list[str]:
        query = LogQuery(project_id=uid, start=base_ns, direction="forward", **kwargs)
        return run(loki_server.url, lambda loki: drain(loki, query))

    assert select(stream="stderr") == [t for s, t in lines if s == "stderr"]
    for level in ("error", "warning", "info"):
        assert select(level=level) == [t for _, t in lines if detect_level(t) == level], level
    assert select(level="error", stream="stdout") == [lines[2][1], lines[6][1]]


def test_volume_counts_lines_per_stream(loki_server, base_ns: int) -> None:
    uid = uuid.uuid4().hex
    lines = [(labels(uid, "stdout"), base_ns + i * 1_000_000, f"o{i}") for i in range(12)]
    lines += [(labels(uid, "stderr"), base_ns + i * 1_000_000, f"e{i}") for i in range(5)]
    push(loki_server.url, lines)
    wait_visible(loki_server.url, LogQuery(project_id=uid, start=base_ns), 17)
    query = LogQuery(project_id=uid, start=base_ns, end=base_ns + 60 * 1_000_000_000)
    series = run(loki_server.url, lambda loki: loki.volume(query, step=timedelta(seconds=10)))
    totals = {s.labels["stream"]: sum(p.count for p in s.points) for s in series}
    # count_over_time([10s]) at 10 s steps counts each line in exactly one window.
    assert totals == {"stdout": 12, "stderr": 5}


def test_tail_resumes_from_any_event_id(loki_server, base_ns: int) -> None:
    uid = uuid.uuid4().hex
    lines = [(labels(uid), base_ns + i // 2, f"t{i}") for i in range(10)]  # pairs share a ns
    push(loki_server.url, lines)
    wait_visible(loki_server.url, LogQuery(project_id=uid, start=base_ns), 10)
    query = LogQuery(project_id=uid, start=base_ns, limit=3)

    async def take(stream: AsyncIterator[Any], count: int) -> list[Any]:
        out = []
        async for item in stream:
            out.append(item)
            if len(out) == count:
                break
        return out

    async def body(loki: LokiStore) -> tuple[list[Any], list[Any]]:
        first = await asyncio.wait_for(take(loki.tail(query), 10), timeout=20)
        event_id = first[3].cursor.encode()
        rest = await asyncio.wait_for(
            take(loki.tail(query, cursor=LogCursor.decode(event_id)), 6), timeout=20
        )
        return first, rest

    first, rest = run(loki_server.url, body, log_tail_delay_seconds=0.0, log_tail_poll_seconds=0.2)
    assert sorted(i.entry.line for i in first) == [f"t{i}" for i in range(10)]
    # Entries sharing a nanosecond may come in another order; the rest may not differ.
    assert sorted(i.entry.line for i in rest) == sorted(i.entry.line for i in first[4:])
    stamps = [i.entry.timestamp_ns for i in rest]
    assert stamps == sorted(stamps) and stamps[0] >= first[3].entry.timestamp_ns


def test_loki_rejection_is_a_query_error(loki_server) -> None:
    async def body(loki: LokiStore) -> None:
        await loki.query_range({"query": '{project_id="x"', "limit": "1"})

    with pytest.raises(LogStoreQueryError) as info:
        run(loki_server.url, body)
    assert info.value.status_code == 400
