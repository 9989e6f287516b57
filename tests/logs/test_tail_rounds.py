"""The live tail's rounds over a store in memory, on a clock the test moves: what it reads
again and what it skips, and that a line stored late is still delivered once.

The real stores run the same tail in tests/logs/test_store_contract.py and
tests/logs/test_faults.py; here the test decides when each line becomes visible.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from devpush.core.config import Settings
from devpush.logs.entries import Fetched, LogEntry
from devpush.logs.paging import PagedEntry
from devpush.logs.query import LogQuery
from devpush.logs.store import PagedStore, Span

SECOND = 1_000_000_000
QUERY = LogQuery(project_id="p1", direction="forward", limit=500)


class MemoryStore(PagedStore):
    """Entries visible as the test adds them; counts what the tail asks."""

    def __init__(self, *, counts: bool) -> None:
        self.now = 100 * SECOND
        settings = Settings(
            log_tail_poll_seconds=0.001, log_tail_delay_seconds=3.0, log_tail_flush_seconds=0
        )
        super().__init__(httpx.AsyncClient(), settings=settings, clock=lambda: self.now)
        self.entries: list[LogEntry] = []
        self.read = 0  # entries handed to the tail by range answers
        self.asked = 0  # range answers given, so a step can wait for the tail's round
        # Entries handed to the settled pass (a range ending at least the delay ago): the
        # fresh window's re-reads depend on how often a loaded machine runs the tail.
        self.settled_read = 0
        self.counts = counts

    def add(self, timestamp_ns: int, line: str) -> None:
        self.entries.append(LogEntry(timestamp_ns=timestamp_ns, line=line, labels={}))

    def compile(self, query: LogQuery) -> str:
        return "all"

    def _in(self, start: int | None, end: int | None) -> list[LogEntry]:
        return [
            e
            for e in self.entries
            if (start is None or e.timestamp_ns >= start) and (end is None or e.timestamp_ns < end)
        ]

    async def fetch(self, text: str, span: Span) -> Fetched:
        found = sorted(
            self._in(span.start_ns, span.end_ns),
            key=lambda e: e.timestamp_ns,
            reverse=span.direction == "backward",
        )[: span.limit]
        self.read += len(found)
        self.asked += 1
        if span.end_ns is not None and span.end_ns <= self.now - 3 * SECOND:
            self.settled_read += len(found)
        return Fetched(found)

    async def count(self, query: LogQuery, *, start_ns: int, end_ns: int) -> int | None:
        return len(self._in(start_ns, end_ns)) if self.counts else None

    async def ingested_until(self) -> int | None:
        return max((e.timestamp_ns for e in self.entries), default=None)


async def _collect(tail: AsyncIterator[PagedEntry], into: list[str]) -> None:
    async for item in tail:
        into.append(item.entry.line)


async def _next_round(store: MemoryStore) -> None:
    """Wait until the tail has read the store after this step (a loaded machine may run
    the test's loop several times before the tail's task runs once)."""
    asked = store.asked
    for _ in range(400):  # up to 2 s
        await asyncio.sleep(0.005)
        if store.asked > asked:
            return


def _run(store: MemoryStore, late: bool) -> list[str]:
    """10 s of one line every 0.1 s (and, with ``late``, one line stored 2 s late)."""

    async def scenario() -> list[str]:
        got: list[str] = []
        task = asyncio.create_task(_collect(store.tail(QUERY), got))
        await asyncio.sleep(0.005)  # the tail starts at the clock's now
        start = store.now
        for i in range(100):
            store.now = start + (i + 1) * SECOND // 10
            store.add(store.now - SECOND // 100, f"line {i}")
            if late and i == 50:
                # Stored now, written 2 s ago: older than the fresh window's overlap.
                store.add(store.now - 2 * SECOND, "late line")
            await _next_round(store)
        store.now += 6 * SECOND  # past the delay: the settled pass catches up
        expected = 101 if late else 100
        for _ in range(2000):  # up to 10 s on a busy machine
            if len(got) >= expected:
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # a line sent twice would come by now
        task.cancel()
        return got

    return asyncio.run(scenario())


def test_every_line_once_and_a_late_one_too() -> None:
    for counts in (True, False):
        store = MemoryStore(counts=counts)
        got = _run(store, late=True)
        assert sorted(got) == sorted([f"line {i}" for i in range(100)] + ["late line"]), counts


def test_a_settled_window_holding_only_sent_lines_is_not_read_again() -> None:
    reading = MemoryStore(counts=False)
    _run(reading, late=False)
    counting = MemoryStore(counts=True)
    assert len(_run(counting, late=False)) == 100
    # Without counts the settled pass reads every line once more.
    assert reading.settled_read >= 100
    assert counting.settled_read < reading.settled_read - 50, (
        counting.settled_read,
        reading.settled_read,
    )
