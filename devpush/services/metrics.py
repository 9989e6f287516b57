"""Runtime metrics of deployments: the stored samples, their ranges, and their retention.

The worker's sampler (``devpush/services/metrics_sampler.py``) adds a row per running
runner and round; the API, the CLI and the deployment page read a range of them here.
A long range is averaged into at most :data:`MAX_POINTS` points, so a 24 h chart costs
what a 1 h one does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from devpush.core.config import Settings
from devpush.core.errors import InvalidInput
from devpush.models import DeploymentMetric, utcnow

#: The ranges a chart offers, by the name the API and the page take.
RANGES: Final[dict[str, timedelta]] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
}
DEFAULT_RANGE: Final = "1h"
#: The most points a range answers: a 1 h range at the default 15 s interval fits.
MAX_POINTS: Final = 240


class UnknownRangeError(InvalidInput):
    """A range the charts do not offer."""

    def __init__(self, value: str) -> None:
        super().__init__(f"range must be one of {', '.join(RANGES)}, not {value!r}")


def parse_range(value: str | None) -> tuple[str, timedelta]:
    """``"6h"`` → ``("6h", 6 hours)``; None or empty: the default range."""
    name = (value or DEFAULT_RANGE).strip().lower()
    if name not in RANGES:
        raise UnknownRangeError(value or "")
    return name, RANGES[name]


class Figures(Protocol):
    """A runner's figures at one time, by a sample's names: the engine's answer as the
    sampler reads it, or a stored row."""

    @property
    def cpu(self) -> float | None: ...
    @property
    def memory_bytes(self) -> int: ...
    @property
    def rx_bytes(self) -> int: ...
    @property
    def tx_bytes(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Sample:
    """One point of a chart: the time, CPU cores (None: not known), memory in use, and the
    bytes received and sent since the runner started."""

    at: datetime
    cpu: float | None
    memory_bytes: int
    rx_bytes: int
    tx_bytes: int

    @classmethod
    def of(cls, figures: Figures, *, at: datetime) -> Sample:
        """``figures`` as a sample taken at ``at``: every other field read by its name."""
        named = {f.name: getattr(figures, f.name) for f in fields(cls) if f.name != "at"}
        return cls(at=at, **named)


def step_seconds(span: timedelta, interval_seconds: float) -> float:
    """The width of a point: the sampling interval, or wider so that ``span`` holds at
    most :data:`MAX_POINTS` points (a whole number of intervals)."""
    intervals = math.ceil(span.total_seconds() / MAX_POINTS / interval_seconds)
    return max(1, intervals) * interval_seconds


def downsample(samples: Sequence[Sample], *, since: datetime, step: float) -> list[Sample]:
    """Samples (oldest first) averaged per ``step`` seconds from ``since``: the mean CPU
    (of the known ones) and memory, the last network counters (they only grow); a point
    carries its newest sample's time. Steps without samples are left out."""
    points: list[Sample] = []
    bucket: list[Sample] = []
    current: int | None = None
    for sample in samples:
        index = int((sample.at - since).total_seconds() // step)
        if current is not None and index != current:
            points.append(_mean(bucket))
            bucket = []
        current = index
        bucket.append(sample)
    if bucket:
        points.append(_mean(bucket))
    return points


def _mean(bucket: Sequence[Sample]) -> Sample:
    if len(bucket) == 1:
        return bucket[0]
    cpus = [s.cpu for s in bucket if s.cpu is not None]
    # A point carries the last sample's time and byte counters (they only grow).
    return replace(
        bucket[-1],
        cpu=sum(cpus) / len(cpus) if cpus else None,
        memory_bytes=round(sum(s.memory_bytes for s in bucket) / len(bucket)),
    )


@dataclass(frozen=True, slots=True)
class MetricsRange:
    """A deployment's samples over a named range, ready for a chart or the API."""

    name: str
    since: datetime
    until: datetime
    step_seconds: float
    samples: list[Sample]

    @property
    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None


def read_range(
    session: Session,
    *,
    deployment_id: str,
    range_name: str | None,
    now: datetime,
    interval_seconds: float,
) -> MetricsRange:
    """The deployment's samples from ``now`` minus the range to ``now``, downsampled."""
    name, span = parse_range(range_name)
    since = now - span
    rows = session.execute(
        select(DeploymentMetric)
        .where(DeploymentMetric.deployment_id == deployment_id, DeploymentMetric.at > since)
        .order_by(DeploymentMetric.at, DeploymentMetric.id)
    ).scalars()
    step = step_seconds(span, interval_seconds)
    samples = [_sample(row) for row in rows]
    return MetricsRange(
        name=name,
        since=since,
        until=now,
        step_seconds=step,
        samples=downsample(samples, since=since, step=step),
    )


def read_recent(
    session: Session, *, deployment_id: str, range_name: str | None, settings: Settings
) -> MetricsRange:
    """The range up to now, at the server's sampling interval (the panel's and the API's)."""
    return read_range(
        session,
        deployment_id=deployment_id,
        range_name=range_name,
        now=utcnow(),
        interval_seconds=settings.metrics_interval_seconds,
    )


def _sample(row: DeploymentMetric) -> Sample:
    # SQLite gives the time back without its zone.
    return Sample.of(row, at=row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC))


def add_samples(session: Session, samples: Iterable[tuple[str, Sample]]) -> int:
    """Store (deployment id, sample) pairs; the caller commits. Returns how many."""
    # A sample's fields are the row's columns, by name.
    rows = [
        DeploymentMetric(deployment_id=deployment_id, **asdict(sample))
        for deployment_id, sample in samples
    ]
    session.add_all(rows)
    return len(rows)


def delete_before(session: Session, cutoff: datetime) -> int:
    """Delete every sample older than ``cutoff`` (the retention); the caller commits."""
    result = session.execute(delete(DeploymentMetric).where(DeploymentMetric.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
