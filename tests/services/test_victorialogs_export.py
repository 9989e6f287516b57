"""The download's pass-through: the store's rows cut into the file's bytes, chunk by chunk,
and the download asking the store at most one window ahead (so the file is never held)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from devpush.core.labels import REQUEST_FIELDS
from devpush.logs.entries import VolumePoint, VolumeSeries
from devpush.logs.query import LogQuery
from devpush.services import log_download
from devpush.services.victorialogs.export import Rows, export_query

TXT_ROWS = [
    '2026-12-06T02:18:43.123456789Z stdout hello "x", y',
    "2026-12-06T02:18:43.990000000Z stderr err \\ bad <b> ünï }",
    "2026-12-06T02:18:45.000000000Z - ",
]


def _txt_answer(rows: list[str]) -> bytes:
    # As VictoriaLogs writes a row: Go's JSON string, "<" escaped.
    return b"".join(
        b'{"r":' + json.dumps(row).replace("<", "\\u003c").encode() + b"}\n" for row in rows
    )


@pytest.mark.parametrize("size", [1, 7, 50, 10_000])
def test_txt_rows_come_out_whole_whatever_the_chunks(size: int) -> None:
    answer = _txt_answer(TXT_ROWS)
    rows = Rows("txt")
    out = b"".join(rows.feed(answer[i : i + size]) for i in range(0, len(answer), size))
    out += rows.close()
    assert out.decode() == "".join(f"{row}\n" for row in TXT_ROWS)


@pytest.mark.parametrize("size", [1, 13, 10_000])
def test_a_stored_copy_beside_its_row_is_dropped_across_chunks(size: int) -> None:
    doubled = [TXT_ROWS[0], TXT_ROWS[0], TXT_ROWS[1], TXT_ROWS[1], TXT_ROWS[2]]
    answer = _txt_answer(doubled)
    rows = Rows("txt")
    out = b"".join(rows.feed(answer[i : i + size]) for i in range(0, len(answer), size))
    assert out.decode().splitlines() == TXT_ROWS

    ndjson = b"".join(json.dumps({"line": row}).encode() + b"\n" for row in doubled)
    rows = Rows("ndjson")
    out = b"".join(rows.feed(ndjson[i : i + size]) for i in range(0, len(ndjson), size))
    assert [json.loads(row)["line"] for row in out.splitlines()] == TXT_ROWS


def test_the_same_line_twice_apart_is_kept() -> None:
    rows = [TXT_ROWS[0], TXT_ROWS[1], TXT_ROWS[0]]
    assert Rows("txt").feed(_txt_answer(rows)).decode().splitlines() == rows


def test_the_export_query_keeps_the_scope_first_and_its_fields() -> None:
    scope = '_stream:{project_id="p1"} deployment_id:="d1"'
    for fmt in ("txt", "ndjson"):
        text = export_query(scope, fmt)  # type: ignore[arg-type]
        assert text.startswith(scope + " | ")
    assert export_query(scope, "ndjson").endswith(
        "fields ts, time, line, stream, source, deployment_id, environment_id, branch, "
        + ", ".join(REQUEST_FIELDS.values())
    )


class _Exporter:
    """A store that exports: counts lines per second, and answers each window lazily."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []

    async def volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        start = query.start_ns or 0
        points = tuple(VolumePoint(start + i * 10**9, 100) for i in range(10))
        return [VolumeSeries(labels={}, points=points)]

    async def export(self, query: LogQuery, *, fmt: str) -> AsyncIterator[bytes]:
        assert query.start_ns is not None and query.end_ns is not None
        self.asked.append((query.start_ns, query.end_ns))
        yield f"{query.start_ns}\n".encode()


def test_a_download_asks_the_store_one_window_ahead_at_most() -> None:
    store = _Exporter()
    query = LogQuery(project_id="p1", start=0, end=10 * 10**9, direction="forward")

    async def run() -> list[bytes | str]:
        body = await log_download.body(
            store,  # type: ignore[arg-type]
            query,
            fmt="txt",
            window_lines=250,
            problem=lambda exc: exc.message,
        )
        got = [await anext(body)]
        await asyncio.sleep(0.01)
        assert len(store.asked) == 2, "the next window is asked while this one streams"
        got += [chunk async for chunk in body]
        return got

    chunks = asyncio.run(run())
    assert len(chunks) == len(store.asked) > 3
    assert store.asked[0][0] == 0 and store.asked[-1][1] == 10 * 10**9
    assert all(a[1] == b[0] for a, b in zip(store.asked, store.asked[1:], strict=False))


def test_rows_with_and_without_escapes_mix_and_copies_drop_across_them() -> None:
    plain = "2026-12-06T02:18:43.123456789Z stdout plain line"
    quoted = '2026-12-06T02:18:43.123456789Z stdout a "quoted" line'
    rows = Rows("txt")
    out = rows.feed(_txt_answer([plain, plain]))  # no escape in the chunk
    out += rows.feed(_txt_answer([plain, quoted]))  # an escape: decoded
    out += rows.feed(_txt_answer([quoted, plain]))
    assert out.decode().splitlines() == [plain, quoted, plain]
