"""The download's plan: its range cut into windows by the store's line counts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import pairwise

from devpush.logs.entries import VolumePoint, VolumeSeries
from devpush.logs.query import LogQuery
from devpush.services.log_download import windows
from devpush.units import SECOND_NS

START = 1_000 * SECOND_NS + 300_000_000  # not on a second


class _Counts:
    """A store whose line counts are fixed points, keeping the steps it is asked for."""

    def __init__(self, *series: tuple[tuple[int, int], ...]) -> None:
        self.series = [
            VolumeSeries({"stream": "stdout"}, tuple(VolumePoint(t, n) for t, n in one))
            for one in series
        ]
        self.steps: list[timedelta] = []

    async def volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        self.steps.append(step)
        return self.series


def _windows(store: _Counts, end: int, lines: int) -> list[tuple[int, int]]:
    query = LogQuery(project_id="p1", start=START, end=end, direction="forward")
    return asyncio.run(windows(store, query, lines=lines))  # type: ignore[arg-type]


def test_windows_hold_about_so_many_lines_and_a_full_bucket_alone() -> None:
    end = START + 10 * SECOND_NS + 500_000_000
    store = _Counts(
        ((START, 3), (START + SECOND_NS - 1_000_000, 3), (START + 2 * SECOND_NS, 3)),
        ((START + 2 * SECOND_NS, 1), (START + 5 * SECOND_NS, 10), (START + 6 * SECOND_NS, 1)),
        ((START + 10 * SECOND_NS, 1), (end + SECOND_NS, 50), (START - 2 * SECOND_NS, 50)),
    )
    cuts = [*(START + s * SECOND_NS for s in (0, 1, 2, 5, 6)), end]
    assert _windows(store, end, lines=5) == list(pairwise(cuts))
    assert store.steps == [timedelta(seconds=1)]


def test_window_cuts_fall_on_whole_second_steps_rounded_up() -> None:
    end = START + 2_000 * SECOND_NS + 500_000_000  # 1000 buckets of 3 s, not of 2
    store = _Counts(((START, 1), (START + 4_400_000_000, 1), (START + 4_500_000_000, 1)))
    cuts = [START, START + 3 * SECOND_NS, START + 6 * SECOND_NS, end]
    assert _windows(store, end, lines=1) == list(pairwise(cuts))
    assert store.steps == [timedelta(seconds=3)]
