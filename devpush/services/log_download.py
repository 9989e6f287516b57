"""The full download of a log range: every line once, oldest first, one chunk per page.

A download can be millions of lines, so the per-line work is kept to what the file holds:
no ``LogLine`` (no rendered HTML, no resume cursor), the time's seconds formatted once per
second, and one joined chunk per store page (a chunk per line costs a send each, and
dominated the time). Memory stays one page, whatever the range.

The pages are the store's cursor pages (``LogStore.page``), so shared timestamps are paged
with no gap and no repeat. Over a long range each sorted store request would read from
its cursor to the range's end; so the range is first cut, by the store's line counts
(``LogStore.volume``), into windows of about ``Settings.log_download_window_lines``, each
paged on its own: a request then reads its window only. Windows are half-open and
adjacent, so every line falls in exactly one.

A store that can format the file itself (``Exporting``: VictoriaLogs) is asked for each
window's bytes instead, and they pass through with no per-line work here (:func:`body`);
a level filter, which only Python's ``detect_level`` decides, keeps the paged path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Final, Literal, Protocol, runtime_checkable

from devpush.core.labels import BRANCH_LABEL, DEPLOYMENT_LABEL, ENVIRONMENT_LABEL, REQUEST_SOURCE
from devpush.logs.buckets import Buckets
from devpush.logs.entries import LogEntry
from devpush.logs.errors import InvalidQuery, LogStoreError
from devpush.logs.levels import detect_level
from devpush.logs.paging import LogCursor, LogPage, PagedEntry
from devpush.logs.query import LogQuery
from devpush.logs.requests import request_info
from devpush.logs.store import LogStore
from devpush.units import SECOND_NS

Format = Literal["txt", "ndjson"]

#: Buckets of the line count that plans the windows (one store request).
PLAN_BUCKETS: Final = 1000
#: Chunks (of about 16-64 KiB) of the next window read ahead while one streams.
AHEAD_CHUNKS: Final = 64


@runtime_checkable
class Exporting(Protocol):
    """A store that writes a range's download file itself, streamed, oldest first."""

    def export(self, query: LogQuery, *, fmt: Format) -> AsyncIterator[bytes]: ...


def incomplete(message: str, fmt: Format) -> str:
    """The last line of a download the store failed in the middle of."""
    text = f"download incomplete: {message}"
    return f"# {text}\n" if fmt == "txt" else json.dumps({"error": text}, ensure_ascii=False) + "\n"


class _Stamps:
    """RFC 3339 times with nanoseconds; the ``YYYY-MM-DDTHH:MM:SS`` part once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, timestamp_ns: int) -> str:
        second, fraction = divmod(timestamp_ns, SECOND_NS)
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{self._prefix}{fraction:09d}Z"


def formatter(fmt: Format) -> Callable[[Sequence[PagedEntry]], str]:
    """A function from a page's items to its chunk of the file (``txt`` or ``ndjson``).

    The rows are those of ``LogLine.as_text`` and ``LogLine.as_json`` (less the cursor: a
    download is not resumed, and at a shared timestamp the cursor grows with each line).
    """
    stamp = _Stamps()

    def txt(items: Sequence[PagedEntry]) -> str:
        return "".join(
            f"{stamp(entry.timestamp_ns)} {entry.source or '-'} {entry.line}\n"
            for entry in (item.entry for item in items)
        )

    dumps = json.JSONEncoder(ensure_ascii=False).encode

    def ndjson(items: Sequence[PagedEntry]) -> str:
        return "".join(dumps(_row(item.entry, stamp)) + "\n" for item in items)

    return txt if fmt == "txt" else ndjson


def _row(entry: LogEntry, stamp: _Stamps) -> dict[str, object]:
    labels = entry.labels
    return {
        "id": f"{entry.timestamp_ns}-{entry.key}",
        "ts": str(entry.timestamp_ns),
        "time": stamp(entry.timestamp_ns),
        "line": entry.line,
        "stream": entry.stream,
        "level": detect_level(entry.line),
        "deployment_id": labels.get(DEPLOYMENT_LABEL),
        "environment_id": labels.get(ENVIRONMENT_LABEL),
        "branch": labels.get(BRANCH_LABEL),
        "source": entry.source,
        **(
            {"request": request_info(entry.fields).as_json()}
            if entry.source == REQUEST_SOURCE
            else {}
        ),
    }


async def windows(store: LogStore, query: LogQuery, *, lines: int) -> list[tuple[int, int]]:
    """``[start, end)`` pieces of the query's range holding about ``lines`` lines each.

    From one count of lines per bucket; a bucket fuller than ``lines`` is a window of its
    own (paging still pages through it). Counts only size the windows: lines that arrive
    after the count are still in some window.
    """
    start, end = query.start_ns, query.end_ns
    if start is None or end is None:
        raise InvalidQuery("a log download needs a start and an end")
    buckets = Buckets.over(start, end, at_most=PLAN_BUCKETS)
    counts = buckets.totals(await store.volume(query, step=buckets.step))
    cuts, held = [start], 0
    for index, count in enumerate(counts):
        if held and held + count > lines:
            cuts.append(buckets.edges(index)[0])
            held = 0
        held += count
    cuts.append(end)
    return list(pairwise(cuts))


async def pages(
    store: LogStore, query: LogQuery, *, first: LogPage, window_lines: int
) -> AsyncIterator[tuple[PagedEntry, ...]]:
    """``first`` (the range's first page, already fetched) then every later page's items.

    The rest of the range after ``first`` is paged window by window (see the module).
    """
    if first.items:
        yield first.items
    if first.exhausted:
        return
    cursor: LogCursor | None = first.cursor
    rest_start = cursor.timestamp_ns if cursor is not None else query.start_ns
    if rest_start is None or query.end_ns is None or rest_start >= query.end_ns:
        return
    rest = dataclasses.replace(query, start=rest_start)
    for start, end in await windows(store, rest, lines=window_lines):
        piece = dataclasses.replace(query, start=start, end=end)
        while True:
            # The cursor stays meaningful across windows: at a window's start it only
            # drops the lines at that timestamp already delivered.
            page = await store.page(piece, cursor=cursor)
            if page.items:
                yield page.items
            cursor = page.cursor or cursor
            if page.exhausted:
                break


async def chunks(
    store: LogStore,
    query: LogQuery,
    *,
    first: LogPage,
    fmt: Format,
    window_lines: int,
    problem: Callable[[LogStoreError], str],
) -> AsyncIterator[str]:
    """The file, one chunk per page; ``problem`` words a store failure for its last line."""
    render = formatter(fmt)
    try:
        async for items in pages(store, query, first=first, window_lines=window_lines):
            yield render(items)
    except LogStoreError as exc:
        yield incomplete(problem(exc), fmt)


async def body(
    store: LogStore,
    query: LogQuery,
    *,
    fmt: Format,
    window_lines: int,
    problem: Callable[[LogStoreError], str],
) -> AsyncIterator[bytes | str]:
    """The download of ``query``'s range (``query.direction`` forward), as chunks.

    The store is asked its first question here, before the first chunk, so a store that
    is down or refuses the query raises (the route answers its status) instead of giving
    a file of one error line.
    """
    if isinstance(store, Exporting) and query.level is None:
        plan = await windows(store, query, lines=window_lines)
        return _exported(store, query, plan, fmt=fmt, problem=problem)
    first = await store.page(query)
    return chunks(store, query, first=first, fmt=fmt, window_lines=window_lines, problem=problem)


async def _exported(
    store: Exporting,
    query: LogQuery,
    plan: Sequence[tuple[int, int]],
    *,
    fmt: Format,
    problem: Callable[[LogStoreError], str],
) -> AsyncIterator[bytes | str]:
    # Windows are adjacent and half-open: each line is in exactly one answer. The next
    # window is asked for while this one streams (the store sorts it meanwhile); each
    # holds at most AHEAD_CHUNKS chunks ahead of the reader, so memory stays bounded.
    pieces = [dataclasses.replace(query, start=start, end=end) for start, end in plan]
    readers: list[asyncio.Task[None]] = []
    queues: list[asyncio.Queue[bytes | BaseException | None]] = []

    def ask(index: int) -> None:
        queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(AHEAD_CHUNKS)
        queues.append(queue)
        readers.append(asyncio.create_task(_read(store.export(pieces[index], fmt=fmt), queue)))

    try:
        for index in range(len(pieces)):
            if index == 0:
                ask(0)
            if index + 1 < len(pieces):
                ask(index + 1)
            while (data := await queues[index].get()) is not None:
                if isinstance(data, BaseException):
                    raise data
                yield data
    except LogStoreError as exc:
        yield incomplete(problem(exc), fmt)
    finally:
        for reader in readers:
            reader.cancel()


async def _read(
    chunks: AsyncIterator[bytes], queue: asyncio.Queue[bytes | BaseException | None]
) -> None:
    """``chunks`` into ``queue``, then None (or the error that ended them)."""
    try:
        async for data in chunks:
            await queue.put(data)
    except Exception as exc:  # handed to the reader, which raises it
        await queue.put(exc)
        return
    await queue.put(None)
