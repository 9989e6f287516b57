"""Log entries as devpush shows them: paging cursors and timestamps (the request side,
filters to a LogQuery, is tests/test_log_request.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from devpush.logs.entries import LogEntry
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.services.logs import resume_cursor, rfc3339_ns


def _item(ts: int, line: str) -> PagedEntry:
    entry = LogEntry(timestamp_ns=ts, line=line, labels={"stream": "stdout"})
    return PagedEntry(entry=entry, cursor=LogCursor(timestamp_ns=ts, seen=frozenset({entry.key})))


def test_resume_cursor_holds_every_key_at_the_newest_timestamp() -> None:
    items = [_item(30, "c"), _item(30, "b"), _item(20, "a")]  # a backward page
    cursor = resume_cursor(items, end_ns=99)
    assert cursor.timestamp_ns == 30
    assert cursor.seen == {items[0].entry.key, items[1].entry.key}
    assert resume_cursor([], end_ns=99) == LogCursor(timestamp_ns=99)


def test_rfc3339_keeps_nanoseconds() -> None:
    ts = int(datetime(2025, 1, 31, 12, tzinfo=UTC).timestamp()) * 10**9 + 7
    assert rfc3339_ns(ts) == "2025-01-31T12:00:00.000000007Z"
