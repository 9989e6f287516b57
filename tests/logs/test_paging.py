"""Cursor paging as pure functions over lists, with entries sharing nanosecond timestamps.

``answer`` below applies Loki's documented query_range contract to a list (start inclusive,
end exclusive, the first ``limit`` entries by time in the asked direction, grouped by
stream) and, on purpose, a *different* order among equal timestamps on every call.
"""

from __future__ import annotations

import random

import pytest

from devpush.logs.entries import LogEntry
from devpush.logs.errors import InvalidCursor
from devpush.logs.paging import MAX_CURSOR_KEYS, LogCursor, request_limit, take, window


def entry(ts: int, line: str, stream: str = "stdout") -> LogEntry:
    return LogEntry(timestamp_ns=ts, line=line, labels={"project_id": "p", "stream": stream})


def answer(
    store: list[LogEntry],
    *,
    start: int | None,
    end: int | None,
    limit: int,
    direction: str,
    rng: random.Random,
) -> list[LogEntry]:
    chosen = [
        e
        for e in store
        if (start is None or e.timestamp_ns >= start) and (end is None or e.timestamp_ns < end)
    ]
    rng.shuffle(chosen)  # ties in any order
    chosen.sort(key=lambda e: e.timestamp_ns, reverse=direction == "backward")
    chosen = chosen[:limit]
    # Loki returns streams, each with its own entries: the flat order is lost.
    return sorted(chosen, key=lambda e: e.labels["stream"])


def drain(
    store: list[LogEntry],
    *,
    page_size: int,
    direction: str,
    max_entries: int = 5000,
    seed: int = 0,
    cursor: LogCursor | None = None,
) -> tuple[list[LogEntry], list[int]]:
    rng = random.Random(seed)
    delivered: list[LogEntry] = []
    skipped: list[int] = []
    for _ in range(10_000):
        start, end = window(start_ns=None, end_ns=None, cursor=cursor, direction=direction)
        requested = request_limit(page_size=page_size, cursor=cursor, max_entries=max_entries)
        got = answer(store, start=start, end=end, limit=requested, direction=direction, rng=rng)
        piece = take(
            got, cursor=cursor, direction=direction, page_size=page_size, requested=requested
        )
        assert len(piece.items) <= page_size
        delivered += [item.entry for item in piece.items]
        if piece.skipped_ns is not None:
            skipped.append(piece.skipped_ns)
        cursor = piece.cursor or cursor
        if piece.exhausted:
            return delivered, skipped
    raise AssertionError("paging did not finish")


def expected(store: list[LogEntry], direction: str) -> list[tuple[int, str]]:
    ordered = sorted(store, key=lambda e: e.timestamp_ns, reverse=direction == "backward")
    return [(e.timestamp_ns, e.key) for e in ordered]


def as_ids(entries: list[LogEntry]) -> list[tuple[int, str]]:
    return [(e.timestamp_ns, e.key) for e in entries]


def crowded_store(seed: int, size: int = 300) -> list[LogEntry]:
    """Many entries per nanosecond, on two streams, identical lines on different streams."""
    rng = random.Random(seed)
    store = []
    for i in range(size):
        ts = 1_000 + rng.randrange(size // 6)
        store.append(entry(ts, f"line {i % 40}", rng.choice(["stdout", "stderr"])))
    unique = {(e.timestamp_ns, e.key): e for e in store}  # Loki keeps one of identical entries
    return list(unique.values())


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("page_size", [1, 2, 3, 7, 50])
@pytest.mark.parametrize("seed", range(4))
def test_no_gap_no_repeat_with_shared_timestamps(direction: str, page_size: int, seed: int) -> None:
    store = crowded_store(seed)
    delivered, skipped = drain(store, page_size=page_size, direction=direction, seed=seed)
    assert skipped == []
    ids = as_ids(delivered)
    assert len(ids) == len(set(ids))  # no repeat
    assert sorted(ids) == sorted(expected(store, direction))  # no gap
    # Timestamps are monotonic in the asked direction.
    stamps = [ts for ts, _ in ids]
    assert stamps == sorted(stamps, reverse=direction == "backward")


def test_a_page_boundary_inside_one_nanosecond() -> None:
    store = [entry(5, "a"), entry(7, "b"), entry(7, "c"), entry(7, "d"), entry(9, "e")]
    cursor = None
    pages = []
    rng = random.Random(1)
    for _ in range(4):
        start, end = window(start_ns=None, end_ns=None, cursor=cursor, direction="forward")
        requested = request_limit(page_size=2, cursor=cursor, max_entries=100)
        got = answer(store, start=start, end=end, limit=requested, direction="forward", rng=rng)
        piece = take(got, cursor=cursor, direction="forward", page_size=2, requested=requested)
        pages.append(sorted(item.entry.line for item in piece.items))
        cursor = piece.cursor
        if piece.exhausted:
            break
    lines = [line for page in pages for line in page]
    assert lines[0] == "a"
    assert sorted(lines[1:4]) == ["b", "c", "d"]
    assert lines[4] == "e"
    assert sum(len(p) for p in pages) == 5


def test_more_entries_at_one_nanosecond_than_loki_returns_is_reported_not_looped() -> None:
    store = [entry(10, f"same ns {i}") for i in range(12)] + [entry(11, "after")]
    delivered, skipped = drain(store, page_size=3, direction="forward", max_entries=5)
    assert skipped == [10]
    assert len({e.key for e in delivered}) == len(delivered)
    assert delivered[-1].line == "after"


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_resuming_from_any_item_cursor_gives_exactly_the_rest(direction: str) -> None:
    """What a live tail does after an SSE reconnect with Last-Event-ID."""
    store = crowded_store(7, size=60)
    rng = random.Random(3)
    requested = request_limit(page_size=1000, cursor=None, max_entries=5000)
    got = answer(store, start=None, end=None, limit=requested, direction=direction, rng=rng)
    piece = take(got, cursor=None, direction=direction, page_size=1000, requested=requested)
    items = piece.items
    assert len(items) == len(store)
    for index in range(0, len(items), 5):
        resumed = LogCursor.decode(items[index].cursor.encode())
        rest, _ = drain(store, page_size=4, direction=direction, cursor=resumed, seed=index)
        remaining = as_ids([i.entry for i in items[index + 1 :]])
        # Equal timestamps may come in another order; the set and the time order may not.
        assert sorted(as_ids(rest)) == sorted(remaining)
        stamps = [ts for ts, _ in as_ids(rest)]
        assert stamps == sorted(stamps, reverse=direction == "backward")
        assert len(rest) == len(items) - index - 1


def test_wrong_side_entries_are_dropped_even_if_loki_included_end() -> None:
    cursor = LogCursor(timestamp_ns=20, seen=frozenset({entry(20, "x").key}))
    got = [entry(21, "newer, already delivered"), entry(20, "x"), entry(20, "y"), entry(19, "z")]
    piece = take(got, cursor=cursor, direction="backward", page_size=10, requested=11)
    assert [i.entry.line for i in piece.items] == ["y", "z"]


def test_window_and_limit() -> None:
    cursor = LogCursor(timestamp_ns=50, seen=frozenset({"0" * 16, "1" * 16}))
    assert window(start_ns=10, end_ns=100, cursor=cursor, direction="forward") == (50, 100)
    assert window(start_ns=10, end_ns=100, cursor=cursor, direction="backward") == (10, 51)
    assert window(start_ns=60, end_ns=None, cursor=cursor, direction="forward") == (60, None)
    assert window(start_ns=None, end_ns=None, cursor=None, direction="backward") == (None, None)
    assert request_limit(page_size=100, cursor=cursor, max_entries=5000) == 102
    assert request_limit(page_size=5000, cursor=cursor, max_entries=5000) == 5000


def test_cursor_encoding() -> None:
    cursor = LogCursor(timestamp_ns=1_704_067_200_000_000_001, seen=frozenset({"ab" * 8, "01" * 8}))
    text = cursor.encode()
    assert text == "1704067200000000001:0101010101010101,abababababababab"
    assert LogCursor.decode(text) == cursor
    assert LogCursor.decode("5:") == LogCursor(timestamp_ns=5)


@pytest.mark.parametrize(
    "text",
    ["", "x", "-1:", "5", "5:zz", "5:" + "a" * 15, "5:" + "a" * 16 + ",", "5:\n", "1" * 21 + ":"],
)
def test_malformed_cursor_is_refused(text: str) -> None:
    with pytest.raises(InvalidCursor):
        LogCursor.decode(text)


def test_cursor_size_is_bounded() -> None:
    keys = ",".join(f"{i:016x}" for i in range(MAX_CURSOR_KEYS + 1))
    with pytest.raises(InvalidCursor, match="too many"):
        LogCursor.decode(f"5:{keys}")


def test_covers_is_the_position_and_the_keys_seen_at_it() -> None:
    cursor = LogCursor(timestamp_ns=10, seen=frozenset({"a" * 16}))
    assert LogCursor.decode(cursor.encode()) == cursor
    assert cursor.covers_ident(9, "x" * 16)
    assert cursor.covers_ident(10, "a" * 16)
    assert not cursor.covers_ident(10, "b" * 16)
    assert not cursor.covers_ident(11, "a" * 16)


@pytest.mark.parametrize("bad", ["5:;", "5:;5-" + "a" * 16, "5:" + "a" * 15])
def test_a_cursor_with_anything_after_the_keys_is_refused(bad: str) -> None:
    with pytest.raises(InvalidCursor):
        LogCursor.decode(bad)
