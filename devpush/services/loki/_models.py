"""Loki's JSON answers parsed into the store-neutral records of ``devpush.logs.entries``."""

from __future__ import annotations

import math
from typing import Any

from devpush.logs.entries import LogEntry, VolumePoint, VolumeSeries, clean_text
from devpush.logs.errors import LogStoreProtocolError


def _data(payload: Any, result_type: str) -> list[Any]:
    if not isinstance(payload, dict) or payload.get("status") != "success":
        raise LogStoreProtocolError("Loki's answer is not a success object")
    data = payload.get("data")
    if not isinstance(data, dict) or data.get("resultType") != result_type:
        got = data.get("resultType") if isinstance(data, dict) else None
        raise LogStoreProtocolError(f"expected a {result_type!r} result from Loki, got {got!r}")
    result = data.get("result")
    if not isinstance(result, list):
        raise LogStoreProtocolError("Loki's result is not a list")
    return result


def _labels(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise LogStoreProtocolError("Loki's stream labels are not a string map")
    return {clean_text(k): clean_text(v) for k, v in raw.items()}


def parse_streams(payload: Any) -> list[LogEntry]:
    """Entries of a ``streams`` answer, in Loki's order (grouped by stream)."""
    entries: list[LogEntry] = []
    for item in _data(payload, "streams"):
        if not isinstance(item, dict) or not isinstance(item.get("values"), list):
            raise LogStoreProtocolError("a Loki stream has no values list")
        labels = _labels(item.get("stream"))
        for value in item["values"]:
            # [ts, line] or, with categorize-labels, [ts, line, {metadata}].
            if not isinstance(value, list) or len(value) < 2:
                raise LogStoreProtocolError("a Loki entry is not a [timestamp, line] pair")
            ts, line = value[0], value[1]
            if not isinstance(ts, str) or not ts.isascii() or not ts.isdigit():
                raise LogStoreProtocolError(f"a Loki timestamp is not nanoseconds: {ts!r}")
            if not isinstance(line, str):
                raise LogStoreProtocolError("a Loki log line is not a string")
            entries.append(LogEntry(timestamp_ns=int(ts), line=clean_text(line), labels=labels))
    return entries


def parse_matrix(payload: Any) -> list[VolumeSeries]:
    """Series of a ``matrix`` answer (``[seconds, "value"]`` samples)."""
    series = []
    for item in _data(payload, "matrix"):
        if not isinstance(item, dict) or not isinstance(item.get("values"), list):
            raise LogStoreProtocolError("a Loki series has no values list")
        points = []
        for sample in item["values"]:
            try:
                seconds, value = float(sample[0]), float(sample[1])
            except (TypeError, ValueError, IndexError, KeyError) as exc:
                raise LogStoreProtocolError(f"a Loki sample is malformed: {sample!r}") from exc
            if not (math.isfinite(seconds) and math.isfinite(value)):
                raise LogStoreProtocolError(f"a Loki sample is not finite: {sample!r}")
            # Loki's sample times have millisecond precision.
            points.append(
                VolumePoint(timestamp_ns=round(seconds * 1000) * 1_000_000, count=round(value))
            )
        series.append(VolumeSeries(labels=_labels(item.get("metric")), points=tuple(points)))
    return series
