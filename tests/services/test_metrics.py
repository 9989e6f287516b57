"""Stored metric samples: ranges, downsampling, reading a range, and the retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devpush.core.errors import InvalidInput
from devpush.models import DeploymentMetric, DeploymentStatus, Project
from devpush.services.metrics import (
    MAX_POINTS,
    Sample,
    UnknownRangeError,
    add_samples,
    delete_before,
    downsample,
    parse_range,
    read_range,
    step_seconds,
)
from tests.fixtures.db import add_deployment

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


# The range query and the retention's delete on SQLite and PostgreSQL.
pytestmark = pytest.mark.both_databases


def sample(at: datetime, cpu: float | None = 0.5, memory: int = 100, rx: int = 0) -> Sample:
    return Sample(at=at, cpu=cpu, memory_bytes=memory, rx_bytes=rx, tx_bytes=rx // 2)


def test_ranges_parse_by_name_and_default_to_an_hour() -> None:
    assert parse_range("15m") == ("15m", timedelta(minutes=15))
    assert parse_range("24H") == ("24h", timedelta(hours=24))
    assert parse_range(None) == ("1h", timedelta(hours=1))
    assert parse_range("") == ("1h", timedelta(hours=1))


@pytest.mark.parametrize("value", ["2h", "1d", "15", "-1h", "1h; drop"])
def test_an_unknown_range_is_refused_with_the_choices(value: str) -> None:
    with pytest.raises(UnknownRangeError) as raised:
        parse_range(value)
    assert isinstance(raised.value, InvalidInput)
    assert raised.value.message == f"range must be one of 15m, 1h, 6h, 24h, not {value!r}"


def test_a_point_is_the_interval_or_wider_for_a_long_range() -> None:
    assert step_seconds(timedelta(minutes=15), 15) == 15
    assert step_seconds(timedelta(hours=1), 15) == 15  # 240 points
    assert step_seconds(timedelta(hours=6), 15) == 90
    assert step_seconds(timedelta(hours=24), 15) == 360
    assert step_seconds(timedelta(hours=24), 600) == 600
    for hours in (1, 6, 24):
        assert (
            timedelta(hours=hours).total_seconds() / step_seconds(timedelta(hours=hours), 15)
            <= MAX_POINTS
        )


def test_downsampling_averages_cpu_and_memory_and_keeps_the_last_counters() -> None:
    since = NOW - timedelta(minutes=1)
    samples = [
        sample(since + timedelta(seconds=5), cpu=0.2, memory=100, rx=10),
        sample(since + timedelta(seconds=20), cpu=None, memory=300, rx=30),
        sample(since + timedelta(seconds=25), cpu=0.4, memory=200, rx=40),
        sample(since + timedelta(seconds=35), cpu=None, memory=50, rx=50),
    ]
    points = downsample(samples, since=since, step=30)
    assert points == [
        Sample(
            at=samples[2].at, cpu=pytest.approx(0.3), memory_bytes=200, rx_bytes=40, tx_bytes=20
        ),
        samples[3],  # alone in its step: as it is (no CPU known)
    ]
    assert downsample(samples, since=since, step=1) == samples
    assert downsample([], since=since, step=30) == []


def test_a_range_reads_its_deployments_samples_only(session: Session, project: Project) -> None:
    mine = add_deployment(session, project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)
    other = add_deployment(session, project)
    add_samples(
        session,
        [
            (mine, sample(NOW - timedelta(minutes=20), cpu=1.0)),  # before the 15 min range
            (mine, sample(NOW - timedelta(minutes=10), cpu=None)),
            (mine, sample(NOW - timedelta(minutes=5), cpu=0.25, memory=4096)),
            (other, sample(NOW - timedelta(minutes=5), cpu=0.9)),
        ],
    )
    session.commit()
    found = read_range(session, deployment_id=mine, range_name="15m", now=NOW, interval_seconds=15)
    assert (found.name, found.since, found.until, found.step_seconds) == (
        "15m",
        NOW - timedelta(minutes=15),
        NOW,
        15,
    )
    assert [(s.at, s.cpu) for s in found.samples] == [
        (NOW - timedelta(minutes=10), None),
        (NOW - timedelta(minutes=5), 0.25),
    ]
    assert found.latest is not None and found.latest.memory_bytes == 4096
    assert found.latest.at.tzinfo is not None  # aware on SQLite too


def test_the_retention_deletes_only_older_samples(session: Session, project: Project) -> None:
    deployment = add_deployment(session, project)
    add_samples(
        session,
        [(deployment, sample(NOW - timedelta(hours=h))) for h in (30, 25, 23, 1)],
    )
    session.commit()
    assert delete_before(session, NOW - timedelta(hours=24)) == 2
    session.commit()
    kept = session.scalars(select(DeploymentMetric.at).order_by(DeploymentMetric.at)).all()
    assert [NOW - at.replace(tzinfo=UTC) for at in kept] == [
        timedelta(hours=23),
        timedelta(hours=1),
    ]
    assert session.scalar(select(func.count()).select_from(DeploymentMetric)) == 2
