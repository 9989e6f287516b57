"""VictoriaLogs answers → store-neutral records: times exact to the nanosecond, odd rows."""

from __future__ import annotations

import pytest

from devpush.logs.errors import LogStoreProtocolError
from devpush.services.victorialogs._models import (
    parse_count,
    parse_lines,
    parse_newest,
    parse_time_ns,
)


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2026-11-27T01:02:03Z", 1_795_741_323_000_000_000),
        ("2026-11-27T01:02:03.99Z", 1_795_741_323_990_000_000),
        ("2026-11-27T01:02:03.000000001Z", 1_795_741_323_000_000_001),
        ("1970-01-01T00:00:00Z", 0),
    ],
)
def test_trimmed_fractions_parse_to_exact_nanoseconds(text: str, ns: int) -> None:
    assert parse_time_ns(text) == ns


@pytest.mark.parametrize("text", ["2026-11-27 01:02:03Z", "2026-11-27T01:02:03+01:00", "", 5])
def test_other_times_are_protocol_errors(text: object) -> None:
    with pytest.raises(LogStoreProtocolError):
        parse_time_ns(text)


def test_a_row_without_msg_is_a_blank_line_and_unknown_fields_are_dropped() -> None:
    body = (
        '{"_time":"2026-11-27T01:02:03Z","project_id":"p","stream":"stdout","other":"x"}\n'
        '{"_time":"2026-11-27T01:02:04Z","_msg":"\\ud800 bad","project_id":"p"}\n'
    )
    first, second = parse_lines(body)
    assert (first.line, dict(first.labels)) == ("", {"project_id": "p", "stream": "stdout"})
    assert second.line == "\ufffd bad"


def test_newest_is_none_for_an_idle_store() -> None:
    assert parse_newest("") is None
    assert parse_newest('{"newest":""}\n') is None
    assert parse_newest('{"newest":"2026-11-27T01:02:03.5Z"}\n') == 1_795_741_323_500_000_000


def test_a_count_answer() -> None:
    assert parse_count('{"n":"1234"}\n') == 1234
    assert parse_count("") == 0
    with pytest.raises(LogStoreProtocolError):
        parse_count('{"x":"1"}\n')
