"""devpush/units.py: the one RFC 3339 → nanoseconds conversion (Docker's and
VictoriaLogs' times), exact to the nanosecond."""

from __future__ import annotations

import pytest

from devpush.units import SECOND_NS, rfc3339_ns


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:01.5Z", SECOND_NS + 500_000_000),
        # Docker writes nine digits; datetime alone would drop the last three.
        ("2026-12-06T16:00:00.123456789Z", 1_796_572_800 * SECOND_NS + 123_456_789),
    ],
)
def test_times_parse_to_exact_nanoseconds(text: str, ns: int) -> None:
    assert rfc3339_ns(text) == ns


@pytest.mark.parametrize(
    "text", ["", "2026-12-06 16:00:00Z", "2026-12-06T16:00:00+01:00", "2026-12-06T16:00:00.Z"]
)
def test_other_text_is_no_time(text: str) -> None:
    assert rfc3339_ns(text) is None
