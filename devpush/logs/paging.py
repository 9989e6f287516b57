"""Cursor paging over a log store with no gap and no repeat, even at shared timestamps.

A store answers one range query with the first ``limit`` entries by timestamp in the
asked direction (``start`` inclusive, ``end`` exclusive); several entries may share one
nanosecond, and their order among themselves is not something to rely on. So a cursor is

    (timestamp_ns of the last delivered entry, keys of every delivered entry at that ts)

where an entry's key hashes its fields and line (see ``LogEntry.key``). The next request:

1. keeps the cursor's timestamp inside the window (forward: ``start = ts``; backward:
   ``end = ts + 1``), so entries at that ts not yet delivered are fetched again;
2. asks for ``page_size + len(seen)`` entries (capped at the store's per-query maximum), so
   after dropping the already-seen ones a full page can still remain;
3. drops entries on the wrong side of the cursor (defensive: an inclusive ``end``) and the
   already-seen ones at the cursor's ts, sorts what is left and delivers up to a page.

No gap: the window never moves past a timestamp until an answer held an entry beyond it,
and an answer is the *first* ``limit`` entries by time, so every entry at the older
timestamp was in that answer and is delivered or seen. No repeat: the seen keys. The one
case this can't page through is more than the per-query maximum
(``Settings.log_store_max_entries_per_query``) entries at one nanosecond: then the page
says so (``skipped_ns``) and moves on by 1 ns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from devpush.logs.entries import LogEntry
from devpush.logs.errors import InvalidCursor
from devpush.logs.query import Direction

_KEY: Final = "[0-9a-f]{16}"
_CURSOR: Final = re.compile(rf"([0-9]{{1,20}}):((?:{_KEY})(?:,{_KEY})*)?")
# A cursor travels in URLs and Last-Event-ID headers: keep it bounded.
MAX_CURSOR_KEYS: Final = 5000


@dataclass(frozen=True, slots=True)
class LogCursor:
    """Position after a delivered entry; ``encode()`` is safe for a URL or Last-Event-ID."""

    timestamp_ns: int
    seen: frozenset[str] = frozenset()

    def encode(self) -> str:
        return f"{self.timestamp_ns}:{','.join(sorted(self.seen))}"

    @classmethod
    def decode(cls, text: str) -> LogCursor:
        match = _CURSOR.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidCursor("malformed log cursor")
        seen = frozenset(match.group(2).split(",")) if match.group(2) else frozenset()
        if len(seen) > MAX_CURSOR_KEYS:
            raise InvalidCursor("log cursor holds too many entries")
        return cls(timestamp_ns=int(match.group(1)), seen=seen)

    def covers(self, entry: LogEntry) -> bool:
        """Whether ``entry`` was delivered before this position (forward order)."""
        return self.covers_ident(entry.timestamp_ns, entry.key)

    def covers_ident(self, timestamp_ns: int, key: str) -> bool:
        if timestamp_ns != self.timestamp_ns:
            return timestamp_ns < self.timestamp_ns
        return key in self.seen


@dataclass(frozen=True, slots=True)
class PagedEntry:
    entry: LogEntry
    cursor: LogCursor  # resume here to get the entries after this one


@dataclass(frozen=True, slots=True)
class LogPage:
    items: tuple[PagedEntry, ...]
    cursor: LogCursor | None  # pass back to get the next page
    exhausted: bool  # nothing more in the query's range
    skipped_ns: tuple[int, ...] = ()  # timestamps with more entries than one answer holds
    partial: bool = False  # some storage nodes did not answer: lines may be missing


@dataclass(frozen=True, slots=True)
class PageSlice:
    """What one store answer contributes to a page."""

    items: tuple[PagedEntry, ...]
    cursor: LogCursor | None  # where the next request starts (None: nothing delivered yet)
    exhausted: bool  # the window holds nothing more
    skipped_ns: int | None = None  # a timestamp given up on (see module docstring)
    partial: bool = False  # the store's answer lacked some storage nodes


def window(
    *, start_ns: int | None, end_ns: int | None, cursor: LogCursor | None, direction: Direction
) -> tuple[int | None, int | None]:
    """The ``[start, end)`` of the next request."""
    if cursor is None:
        return start_ns, end_ns
    if direction == "forward":
        start = cursor.timestamp_ns if start_ns is None else max(start_ns, cursor.timestamp_ns)
        return start, end_ns
    end = cursor.timestamp_ns + 1
    return start_ns, end if end_ns is None else min(end_ns, end)


def request_limit(*, page_size: int, cursor: LogCursor | None, max_entries: int) -> int:
    seen = len(cursor.seen) if cursor is not None else 0
    return max(1, min(page_size + seen, max_entries))


def _ordered(entries: Iterable[LogEntry], direction: Direction) -> list[LogEntry]:
    # Sort ties by key so a page is the same however the store ordered equal timestamps.
    if direction == "forward":
        return sorted(entries, key=lambda e: (e.timestamp_ns, e.key))
    return sorted(entries, key=lambda e: (-e.timestamp_ns, e.key))


def _is_new(entry: LogEntry, cursor: LogCursor | None, direction: Direction) -> bool:
    if cursor is None:
        return True
    ts = cursor.timestamp_ns
    if entry.timestamp_ns == ts:
        return entry.key not in cursor.seen
    return entry.timestamp_ns > ts if direction == "forward" else entry.timestamp_ns < ts


def advance(cursor: LogCursor | None, entry: LogEntry) -> LogCursor:
    """The cursor after delivering ``entry`` (entries are delivered in page order)."""
    key = entry.key
    if cursor is not None and cursor.timestamp_ns == entry.timestamp_ns:
        return LogCursor(timestamp_ns=entry.timestamp_ns, seen=cursor.seen | {key})
    return LogCursor(timestamp_ns=entry.timestamp_ns, seen=frozenset({key}))


def take(
    answer: Sequence[LogEntry],
    *,
    cursor: LogCursor | None,
    direction: Direction,
    page_size: int,
    requested: int,
) -> PageSlice:
    """Turn one store answer (asked with ``window`` and ``request_limit``) into a page slice."""
    fresh: list[LogEntry] = []
    keys: set[tuple[int, str]] = set()
    for entry in _ordered(answer, direction):
        ident = (entry.timestamp_ns, entry.key)
        if ident not in keys and _is_new(entry, cursor, direction):
            keys.add(ident)
            fresh.append(entry)
    full = len(answer) >= requested
    if full and not fresh and cursor is not None:
        # Every answered entry was already seen and more wait at this very nanosecond.
        step = 1 if direction == "forward" else -1
        moved = LogCursor(timestamp_ns=cursor.timestamp_ns + step)
        return PageSlice(items=(), cursor=moved, exhausted=False, skipped_ns=cursor.timestamp_ns)
    items = []
    position = cursor
    for entry in fresh[:page_size]:
        position = advance(position, entry)
        items.append(PagedEntry(entry=entry, cursor=position))
    exhausted = not full and len(fresh) <= page_size
    return PageSlice(items=tuple(items), cursor=position, exhausted=exhausted)
