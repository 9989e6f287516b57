"""Log entries as devpush shows them: paging cursors, timestamps and volume bars (the request side,
filters to a LogQuery, is tests/test_log_request.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import pairwise

import pytest

from devpush.logs.entries import LogEntry, VolumePoint, VolumeSeries
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.logs.query import LogQuery
from devpush.services.logs import resume_cursor, volume_bars
from devpush.units import SECOND_NS


def _item(ts: int, line: str) -> PagedEntry:
    entry = LogEntry(timestamp_ns=ts, line=line, labels={"stream": "stdout"})
    return PagedEntry(entry=entry, cursor=LogCursor(timestamp_ns=ts, seen=frozenset({entry.key})))


def test_resume_cursor_holds_every_key_at_the_newest_timestamp() -> None:
    items = [_item(30, "c"), _item(30, "b"), _item(20, "a")]  # a backward page
    cursor = resume_cursor(items, end_ns=99)
    assert cursor.timestamp_ns == 30
    assert cursor.seen == {items[0].entry.key, items[1].entry.key}
    assert resume_cursor([], end_ns=99) == LogCursor(timestamp_ns=99)


class _VolumeStore:
    """Answers every volume question with the same series, and keeps the steps asked."""

    def __init__(self, series: list[VolumeSeries]) -> None:
        self.series = series
        self.steps: list[timedelta] = []

    async def volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        self.steps.append(step)
        return self.series


def test_volume_bars_cut_a_ragged_range_into_whole_second_steps() -> None:
    start = 1_000 * SECOND_NS + 300_000_000  # not on a second
    end = start + 150 * SECOND_NS + 500_000_000
    points = [
        (start, 1),  # bar 0
        (start + 1_400_000_000, 2),  # nearer bar 0's start
        (start + 1_500_000_000, 4),  # halfway: bar 1
        (start + 3 * SECOND_NS - 1_000_000, 8),  # a store's millisecond alignment: bar 1
        (start - 1_500_000_000, 16),  # half a step early: bar 0
        (start - 1_600_000_000, 32),  # earlier: no bar
        (end + SECOND_NS, 64),  # past the last bar
    ]
    series = [
        VolumeSeries({"stream": "stdout"}, tuple(VolumePoint(t, n) for t, n in points)),
        VolumeSeries({"stream": "stderr"}, (VolumePoint(end - 1, 128),)),
        VolumeSeries({}, (VolumePoint(start, 256),)),  # requests: not in these bars
    ]
    store = _VolumeStore(series)
    query = LogQuery(project_id="p1", start=start, end=end)
    bars = asyncio.run(volume_bars(store, query))  # type: ignore[arg-type]
    assert store.steps == [timedelta(seconds=3)]
    assert len(bars) == 51
    assert (bars[0].start_ns, bars[0].end_ns) == (start, start + 3 * SECOND_NS)
    assert (bars[-1].start_ns, bars[-1].end_ns) == (start + 150 * SECOND_NS, end)
    assert all(a.end_ns == b.start_ns for a, b in pairwise(bars))
    assert [(bar.stdout, bar.stderr) for bar in bars[:2]] == [(19, 0), (12, 0)]
    assert (bars[-1].stdout, bars[-1].stderr) == (0, 128)
    assert sum(bar.total for bar in bars) == 19 + 12 + 128


@pytest.mark.parametrize(
    ("span_ns", "bars", "step_s", "count"),
    [
        (SECOND_NS // 2, 60, 1, 1),  # under a second: one bar of the range
        (10 * SECOND_NS, 60, 1, 10),  # steps are whole seconds, so fewer bars
        (3_600 * SECOND_NS, 60, 60, 60),
        (3_600 * SECOND_NS + 1, 60, 61, 60),  # a step rounds up
    ],
)
def test_volume_bars_step_and_count(span_ns: int, bars: int, step_s: int, count: int) -> None:
    store = _VolumeStore([])
    query = LogQuery(project_id="p1", start=7, end=7 + span_ns)
    got = asyncio.run(volume_bars(store, query, bars=bars))  # type: ignore[arg-type]
    assert store.steps == [timedelta(seconds=step_s)]
    assert len(got) == count
    assert (got[0].start_ns, got[-1].end_ns) == (7, 7 + span_ns)
