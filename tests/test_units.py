"""devpush/units.py: RFC 3339 times to and from Unix nanoseconds (Docker's and
VictoriaLogs' times, and the API's), exact to the nanosecond."""

from __future__ import annotations

import pytest

from devpush.units import SECOND_NS, format_rfc3339_ns, parse_rfc3339_ns


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
    assert parse_rfc3339_ns(text) == ns


@pytest.mark.parametrize(
    "text", ["", "2026-12-06 16:00:00Z", "2026-12-06T16:00:00+01:00", "2026-12-06T16:00:00.Z"]
)
def test_other_text_is_no_time(text: str) -> None:
    assert parse_rfc3339_ns(text) is None


def test_formatting_keeps_all_nine_digits_and_parses_back() -> None:
    ts = 1_738_324_800 * SECOND_NS + 7  # 2025-01-31T12:00:00 UTC
    assert format_rfc3339_ns(ts) == "2025-01-31T12:00:00.000000007Z"
    assert parse_rfc3339_ns(format_rfc3339_ns(ts)) == ts
