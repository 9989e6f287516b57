"""The charts' geometry and wording (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devpush.services.metrics import MetricsRange, Sample
from devpush.web.metric_charts import HEIGHT, WIDTH, charts, human_bytes, rates

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return NOW - timedelta(minutes=15) + timedelta(seconds=seconds)


def test_bytes_read_as_people_do() -> None:
    assert [human_bytes(v) for v in (0, 1023, 1536, 5 * 1024**2, 3 * 1024**4)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 MiB",
        "3.0 TiB",
    ]


def test_rates_per_second_leave_out_a_restart() -> None:
    samples = [
        Sample(at(0), None, 1, 0, 0),
        Sample(at(10), None, 1, 1000, 100),
        Sample(at(20), None, 1, 50, 5),  # the runner restarted: its counters start again
        Sample(at(30), None, 1, 550, 55),
    ]
    rx, tx = rates(samples)
    assert rx == [(at(10), 100.0), (at(30), 50.0)]
    assert tx == [(at(10), 10.0), (at(30), 5.0)]


def test_points_span_the_range_and_scale_to_the_top() -> None:
    found = MetricsRange(
        name="15m",
        since=NOW - timedelta(minutes=15),
        until=NOW,
        step_seconds=15,
        samples=[
            Sample(at(0), None, 10, 0, 0),
            Sample(at(450), 0.5, 20, 0, 0),
            Sample(at(900), 1.0, 40, 0, 0),
        ],
    )
    cpu, memory, network = charts(found)
    assert (cpu.latest, cpu.top) == ("1.00 cores", "1.00 cores")
    # The first sample has no CPU figure: two points, the middle one half-way up.
    assert cpu.series["cpu"] == f"{WIDTH / 2:.1f},{HEIGHT / 2:.1f} {WIDTH:.1f},0.0"
    assert memory.latest == "40 B" and memory.top == "1.0 MiB"  # a floor of 1 MiB
    assert network.latest == "0 B/s / 0 B/s"
