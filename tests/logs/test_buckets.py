"""A log range's histogram buckets: the step, the count, the edges and a point's bucket."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from devpush.logs.buckets import Buckets
from devpush.logs.entries import VolumePoint, VolumeSeries
from devpush.units import SECOND_NS

START = 1_000 * SECOND_NS + 300_000_000  # not on a second


@pytest.mark.parametrize(
    ("span_ns", "at_most", "step_s", "count"),
    [
        (SECOND_NS // 2, 60, 1, 1),  # under a second: one bucket, the whole range
        (10 * SECOND_NS, 60, 1, 10),  # steps are whole seconds, so fewer buckets
        (3_600 * SECOND_NS, 60, 60, 60),
        (3_600 * SECOND_NS + 1, 60, 61, 60),  # the step rounds up
        (150 * SECOND_NS + 500_000_000, 60, 3, 51),
        (2_000 * SECOND_NS + 500_000_000, 1000, 3, 667),
    ],
)
def test_the_step_is_whole_seconds_and_the_buckets_at_most_so_many(
    span_ns: int, at_most: int, step_s: int, count: int
) -> None:
    buckets = Buckets.over(START, START + span_ns, at_most=at_most)
    assert (buckets.step_s, buckets.step, buckets.step_ns) == (
        step_s,
        timedelta(seconds=step_s),
        step_s * SECOND_NS,
    )
    assert len(buckets) == count <= at_most


def test_the_edges_are_adjacent_and_the_last_ends_at_the_range_end() -> None:
    end = START + 150 * SECOND_NS + 500_000_000
    buckets = Buckets.over(START, end, at_most=60)
    edges = [buckets.edges(i) for i in range(len(buckets))]
    assert edges[0] == (START, START + 3 * SECOND_NS)
    assert edges[-1] == (START + 150 * SECOND_NS, end)
    assert all(a[1] == b[0] for a, b in pairwise(edges))


def test_a_point_falls_in_the_bucket_whose_start_is_nearest() -> None:
    end = START + 150 * SECOND_NS + 500_000_000
    buckets = Buckets.over(START, end, at_most=60)  # 3 s steps
    assert buckets.index(START) == 0
    assert buckets.index(START + 1_499_999_999) == 0
    assert buckets.index(START + 1_500_000_000) == 1  # halfway: the later one
    assert buckets.index(START + 3 * SECOND_NS - 1_000_000) == 1  # aligned to the ms
    assert buckets.index(START - 1_500_000_000) == 0  # half a step early
    assert buckets.index(START - 1_500_000_001) is None
    assert buckets.index(end - 1) == 50
    assert buckets.index(START + 151_500_000_000) is None  # past the last bucket


def test_totals_sum_the_series_points_of_each_bucket() -> None:
    buckets = Buckets.over(START, START + 10 * SECOND_NS, at_most=60)
    stdout = (
        VolumePoint(START, 1),
        VolumePoint(START + SECOND_NS - 1_000_000, 2),
        VolumePoint(START + 20 * SECOND_NS, 16),  # outside: left out
    )
    stderr = (VolumePoint(START + SECOND_NS, 4), VolumePoint(START + 9 * SECOND_NS, 8))
    series = [
        VolumeSeries({"stream": "stdout"}, stdout),
        VolumeSeries({"stream": "stderr"}, stderr),
    ]
    assert buckets.totals(series) == [1, 6, 0, 0, 0, 0, 0, 0, 0, 8]
    assert buckets.totals(series[1:]) == [0, 4, 0, 0, 0, 0, 0, 0, 0, 8]
    assert buckets.totals([]) == [0] * 10


@pytest.mark.parametrize(("end", "at_most"), [(START, 60), (START - 1, 60), (START + 1, 0)])
def test_an_empty_range_or_no_buckets_is_refused(end: int, at_most: int) -> None:
    with pytest.raises(ValueError, match="no buckets"):
        Buckets.over(START, end, at_most=at_most)
