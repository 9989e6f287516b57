"""The buckets of a log range's histogram: whole-second steps, and a point's bucket.

The volume bars, the request bars and a download's plan each ask a store for line counts
per step over ``[start, end)`` (``LogStore.volume``) and lay its points out in these
buckets, so the three agree on the step, the edges and the alignment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from devpush.logs.entries import VolumeSeries
from devpush.units import SECOND_NS


@dataclass(frozen=True, slots=True)
class Buckets:
    """Buckets of ``step_s`` seconds from ``start_ns``, the last one cut at ``end_ns``."""

    start_ns: int
    end_ns: int
    step_s: int

    @classmethod
    def over(cls, start_ns: int, end_ns: int, *, at_most: int) -> Buckets:
        """At most ``at_most`` buckets over ``[start_ns, end_ns)``: the stores count in
        whole seconds, so the step is the span's share rounded up to a whole second."""
        if at_most < 1 or end_ns <= start_ns:
            raise ValueError(f"no buckets: {at_most} over [{start_ns}, {end_ns})")
        step_s = max(1, -(-(end_ns - start_ns) // (at_most * SECOND_NS)))
        return cls(start_ns, end_ns, step_s)

    @property
    def step(self) -> timedelta:
        """The step to ask a store's volume for."""
        return timedelta(seconds=self.step_s)

    @property
    def step_ns(self) -> int:
        return self.step_s * SECOND_NS

    def __len__(self) -> int:
        return -(-(self.end_ns - self.start_ns) // self.step_ns)

    def index(self, timestamp_ns: int) -> int | None:
        """The bucket of a store's point (None: outside the range). A point is its
        bucket's start, which a store may align to the millisecond: the nearest start
        is the point's."""
        index = (timestamp_ns - self.start_ns + self.step_ns // 2) // self.step_ns
        return index if 0 <= index < len(self) else None

    def edges(self, index: int) -> tuple[int, int]:
        """``[start, end)`` of a bucket: adjacent to the next, the last ending at the range's."""
        start = self.start_ns + index * self.step_ns
        return start, min(self.end_ns, start + self.step_ns)

    def totals(self, series: Iterable[VolumeSeries]) -> list[int]:
        """The series' counts summed per bucket (points outside the range left out)."""
        totals = [0] * len(self)
        for point in (point for one in series for point in one.points):
            index = self.index(point.timestamp_ns)
            if index is not None:
                totals[index] += point.count
        return totals
