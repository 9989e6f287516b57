"""The shared live tail: one store tail per query, whoever watches it; viewers that join
late resume from their cursors with no gap; a viewer leaving stops nobody else.

The store here is a stand-in with the store tail's contract (items in order, each with a
cursor; resuming from a cursor gives what it does not cover): what is under test is the
fan-out. The store tail itself is tested on the real stores (tests/logs/).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from devpush.logs.entries import LogEntry
from devpush.logs.errors import LogStoreUnavailable
from devpush.logs.paging import LogCursor, PagedEntry, advance
from devpush.logs.query import LogQuery
from devpush.services import tail_hub
from devpush.services.tail_hub import TailHub, covers, later

QUERY = LogQuery(project_id="p1", deployment_id="d1", direction="forward", limit=500)
T = TypeVar("T")


class Store:
    """Entries come when ``add`` is called; ``tail`` follows them like a store's tail."""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []
        self.tails_opened = 0
        self.tails_open = 0
        self.fail: Exception | None = None
        self._grew = asyncio.Event()

    def add(self, *lines: str, ts: int | None = None) -> None:
        for line in lines:
            stamp = ts if ts is not None else 1_000 + len(self.entries)
            self.entries.append(LogEntry(timestamp_ns=stamp, line=line, labels={"stream": "x"}))
        self._grew.set()

    async def tail(self, query: LogQuery, *, cursor: LogCursor | None = None) -> Any:
        self.tails_opened += 1
        self.tails_open += 1
        position = cursor or LogCursor(timestamp_ns=0)
        try:
            while True:
                for entry in list(self.entries):
                    if not position.covers(entry):
                        position = advance(position, entry)
                        yield PagedEntry(entry=entry, cursor=position)
                if self.fail is not None:
                    raise self.fail
                self._grew.clear()
                await self._grew.wait()
        finally:
            self.tails_open -= 1


async def take(it: AsyncIterator[PagedEntry], count: int) -> list[PagedEntry]:
    return [await asyncio.wait_for(anext(it), 5) for _ in range(count)]


def lines(items: list[PagedEntry]) -> list[str]:
    return [item.entry.line for item in items]


def run(test: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(test())


def test_two_viewers_get_the_same_lines_from_one_store_tail() -> None:
    async def test() -> None:
        store = Store()
        hub = TailHub(store)  # type: ignore[arg-type]
        start = LogCursor(timestamp_ns=0)
        first, second = hub.follow(QUERY, start), hub.follow(QUERY, start)
        store.add("a", "b")
        got_first = await take(first, 2)
        got_second = await take(second, 2)
        store.add("c")
        got_first += await take(first, 1)
        got_second += await take(second, 1)
        assert lines(got_first) == lines(got_second) == ["a", "b", "c"]
        assert store.tails_opened == 1
        await first.aclose()
        await second.aclose()
        await asyncio.sleep(0)
        assert store.tails_open == 0 and hub.tails() == 0

    run(test)


def test_a_viewer_joining_late_resumes_from_its_cursor() -> None:
    async def test() -> None:
        store = Store()
        hub = TailHub(store)  # type: ignore[arg-type]
        first = hub.follow(QUERY, LogCursor(timestamp_ns=0))
        store.add(*(f"line {i}" for i in range(10)))
        seen = await take(first, 10)
        # The second viewer saw up to line 3 (its Last-Event-ID), then reconnects.
        late = hub.follow(QUERY, seen[3].cursor)
        store.add("line 10")
        resumed = await take(late, 7)
        assert lines(resumed) == [f"line {i}" for i in range(4, 11)]
        assert store.tails_opened == 1, "the late viewer shares the tail"
        await first.aclose()
        await late.aclose()

    run(test)


def test_a_viewer_leaving_does_not_stop_the_others() -> None:
    async def test() -> None:
        store = Store()
        hub = TailHub(store)  # type: ignore[arg-type]
        start = LogCursor(timestamp_ns=0)
        staying, leaving = hub.follow(QUERY, start), hub.follow(QUERY, start)
        store.add("a")
        await take(staying, 1)
        await take(leaving, 1)
        await leaving.aclose()
        store.add("b", "c")
        assert lines(await take(staying, 2)) == ["b", "c"]
        assert store.tails_open == 1
        await staying.aclose()
        await asyncio.sleep(0)
        assert store.tails_open == 0

    run(test)


def test_many_viewers_get_every_line_once() -> None:
    async def test() -> None:
        store = Store()
        hub = TailHub(store)  # type: ignore[arg-type]
        start = LogCursor(timestamp_ns=0)
        viewers = [hub.follow(QUERY, start) for _ in range(10)]
        expected = [f"line {i}" for i in range(300)]

        async def feed() -> None:
            for i in range(0, 300, 30):
                store.add(*expected[i : i + 30])
                await asyncio.sleep(0)

        feeder = asyncio.create_task(feed())
        results = await asyncio.gather(*(take(viewer, 300) for viewer in viewers))
        await feeder
        for got in results:
            assert lines(got) == expected  # none lost, none doubled, in order
        assert store.tails_opened == 1
        for viewer in viewers:
            await viewer.aclose()

    run(test)


def test_an_old_cursor_gets_a_tail_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tail_hub, "HELD_ITEMS", 5)

    async def test() -> None:
        store = Store()
        hub = TailHub(store)  # type: ignore[arg-type]
        first = hub.follow(QUERY, LogCursor(timestamp_ns=0))
        store.add(*(f"line {i}" for i in range(20)))
        seen = await take(first, 20)
        # Line 2's cursor is older than what the shared tail still holds (5 items).
        old = hub.follow(QUERY, seen[2].cursor)
        assert lines(await take(old, 17)) == [f"line {i}" for i in range(3, 20)]
        assert store.tails_opened == 2
        # A cursor within what it holds shares it.
        recent = hub.follow(QUERY, seen[16].cursor)
        assert lines(await take(recent, 3)) == ["line 17", "line 18", "line 19"]
        assert store.tails_opened == 2
        for it in (first, old, recent):
            await it.aclose()

    run(test)


def test_a_store_failure_reaches_every_viewer() -> None:
    async def test() -> None:
        store = Store()
        hub = TailHub(store)  # type: ignore[arg-type]
        start = LogCursor(timestamp_ns=0)
        viewers = [hub.follow(QUERY, start) for _ in range(3)]
        store.add("a")
        for viewer in viewers:
            await take(viewer, 1)
        store.fail = LogStoreUnavailable("down")
        store.add("b")
        for viewer in viewers:
            assert lines(await take(viewer, 1)) == ["b"]
            with pytest.raises(LogStoreUnavailable):
                await take(viewer, 1)
        assert hub.tails() == 0, "the next viewer starts a new tail"

    run(test)


def test_a_viewer_too_far_behind_is_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tail_hub, "VIEWER_QUEUE", 3)

    async def test() -> None:
        store = Store()
        hub = TailHub(store)  # type: ignore[arg-type]
        start = LogCursor(timestamp_ns=0)
        quick, slow = hub.follow(QUERY, start), hub.follow(QUERY, start)
        store.add("a")
        await take(quick, 1)
        await take(slow, 1)
        for i in range(10):
            store.add(f"more {i}")
            await take(quick, 1)
        with pytest.raises(tail_hub.ViewerBehind):
            await take(slow, 10)
        store.add("still")
        assert lines(await take(quick, 1)) == ["still"]
        await quick.aclose()

    run(test)


def test_cursor_order() -> None:
    a = LogCursor(timestamp_ns=5, seen=frozenset({"k1"}))
    b = LogCursor(timestamp_ns=5, seen=frozenset({"k1", "k2"}))
    assert covers(b, a) and not covers(a, b)
    assert covers(LogCursor(timestamp_ns=6), b)
    assert later(a, b) == b
    assert later(LogCursor(timestamp_ns=4), a) == a


def test_viewers_of_one_tail_share_each_line_built() -> None:
    from devpush.services.logs import tail_events

    async def test() -> None:
        store = Store()
        start = LogCursor(timestamp_ns=0)
        first = tail_events(store, QUERY, start, max_chars=None)  # type: ignore[arg-type]
        second = tail_events(store, QUERY, start, max_chars=None)  # type: ignore[arg-type]
        store.add("a")
        (_, one), (_, two) = await anext(first), await anext(second)
        assert one is two, "built once for both viewers"
        assert store.tails_opened == 1
        await first.aclose()
        await second.aclose()

    run(test)


def test_a_tail_that_follows_nothing_for_a_minute_looks_as_seldom_as_a_following_one() -> None:
    # A finished deployment someone still watches: no container listing every 0.25 s.
    assert tail_hub.look_interval(following=False, idle_for=0.0) == tail_hub.LOOK_IDLE_SECONDS
    assert tail_hub.look_interval(following=False, idle_for=59.0) == tail_hub.LOOK_IDLE_SECONDS
    slow = tail_hub.look_interval(following=False, idle_for=tail_hub.IDLE_QUICK_LOOKS_SECONDS)
    assert slow == tail_hub.LOOK_FOLLOWING_SECONDS
    assert tail_hub.look_interval(following=True, idle_for=0.0) == tail_hub.LOOK_FOLLOWING_SECONDS
