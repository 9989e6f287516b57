"""Parsing Loki's JSON answers into typed records."""

from __future__ import annotations

import json

import pytest

from devpush.logs.errors import LogStoreProtocolError
from devpush.services.loki._models import parse_matrix, parse_streams

STREAMS = {
    "status": "success",
    "data": {
        "resultType": "streams",
        "result": [
            {
                "stream": {"project_id": "p", "stream": "stderr"},
                "values": [["1704067200000000002", "boom"], ["1704067200000000001", "b\ud800d"]],
            },
            {
                "stream": {"project_id": "p", "stream": "stdout"},
                "values": [["1704067200000000001", "ok", {"structuredMetadata": {}}]],
            },
        ],
        "stats": {},
    },
}


def test_parse_streams() -> None:
    entries = parse_streams(json.loads(json.dumps(STREAMS)))
    assert [(e.timestamp_ns, e.line, e.stream) for e in entries] == [
        (1_704_067_200_000_000_002, "boom", "stderr"),
        (1_704_067_200_000_000_001, "b\ufffdd", "stderr"),  # lone surrogate replaced
        (1_704_067_200_000_000_001, "ok", "stdout"),
    ]
    assert entries[1].labels == {"project_id": "p", "stream": "stderr"}
    # Same line and ts on another stream is another entry.
    assert len({e.key for e in entries}) == 3


def test_entry_key_depends_on_labels_and_line_only() -> None:
    first, second = parse_streams(STREAMS)[1], parse_streams(STREAMS)[1]
    assert first.key == second.key and len(first.key) == 16


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {"status": "success", "data": {"resultType": "streams", "result": {}}},
        {"status": "success", "data": {"resultType": "streams", "result": [{"stream": {}}]}},
        {
            "status": "success",
            "data": {"resultType": "streams", "result": [{"stream": {}, "values": [["1.5", "x"]]}]},
        },
        {
            "status": "success",
            "data": {"resultType": "streams", "result": [{"stream": {"a": 1}, "values": []}]},
        },
        {"status": "success", "data": {"resultType": "streams", "result": [{"values": [["1"]]}]}},
    ],
)
def test_malformed_streams(payload: object) -> None:
    with pytest.raises(LogStoreProtocolError):
        parse_streams(payload)


def test_parse_matrix() -> None:
    payload = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": {"stream": "stdout"}, "values": [[1704067200, "3"], [1704067260.5, "1"]]}
            ],
        },
    }
    (series,) = parse_matrix(payload)
    assert series.labels == {"stream": "stdout"}
    assert [(p.timestamp_ns, p.count) for p in series.points] == [
        (1_704_067_200_000_000_000, 3),
        (1_704_067_260_500_000_000, 1),
    ]
    bad = {
        "status": "success",
        "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "NaN"]]}]},
    }
    with pytest.raises(LogStoreProtocolError):
        parse_matrix(bad)
