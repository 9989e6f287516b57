"""VictoriaLogs' answers parsed into the store-neutral records of ``devpush.logs.entries``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from devpush.core.labels import HOST_LABEL, LOG_FIELDS, REQUEST_FIELDS, SOURCE_LABEL
from devpush.logs.entries import LogEntry, VolumePoint, VolumeSeries, clean_text
from devpush.logs.errors import LogStoreProtocolError
from devpush.units import parse_rfc3339_ns


def parse_time_ns(text: object) -> int:
    """Unix nanoseconds of a ``_time`` string (RFC 3339 UTC), exactly."""
    time_ns = parse_rfc3339_ns(text) if isinstance(text, str) else None
    if time_ns is None:
        raise LogStoreProtocolError(f"a log time is not RFC 3339 UTC: {text!r}")
    return time_ns


def _json_rows(body: str) -> Iterator[object]:
    """The JSON value of each non-blank line of a ``/select/logsql/query`` answer."""
    for raw in body.splitlines():
        if not raw.strip():
            continue
        try:
            yield json.loads(raw)
        except ValueError as exc:
            raise LogStoreProtocolError("a log store answer line is not JSON") from exc


def parse_lines(body: str) -> list[LogEntry]:
    """Entries of a ``/select/logsql/query`` answer (one JSON object per line)."""
    entries = []
    for row in _json_rows(body):
        if not isinstance(row, dict):
            raise LogStoreProtocolError("a log store answer line is not an object")
        line = row.get("_msg", "")
        if not isinstance(line, str):
            raise LogStoreProtocolError("a log line is not a string")
        labels = {
            name: clean_text(value)
            for name in (*LOG_FIELDS, SOURCE_LABEL, HOST_LABEL)
            if isinstance(value := row.get(name), str) and value
        }
        fields = {
            name: clean_text(value)
            for name in REQUEST_FIELDS.values()
            if isinstance(value := row.get(name), str) and value
        }
        entries.append(
            LogEntry(
                timestamp_ns=parse_time_ns(row.get("_time")),
                line=clean_text(line),
                labels=labels,
                fields=fields,
            )
        )
    return entries


def parse_hits(payload: Any, *, field: str) -> list[VolumeSeries]:
    """Series of a ``/select/logsql/hits`` answer grouped by ``field``."""
    hits = payload.get("hits") if isinstance(payload, dict) else None
    if not isinstance(hits, list):
        raise LogStoreProtocolError("the hits answer has no hits list")
    series = []
    for group in hits:
        if not isinstance(group, dict):
            raise LogStoreProtocolError("a hits group is not an object")
        fields = group.get("fields") or {}
        stamps, values = group.get("timestamps") or [], group.get("values") or []
        if (
            not isinstance(fields, dict)
            or not isinstance(stamps, list)
            or not isinstance(values, list)
        ):
            raise LogStoreProtocolError("a hits group is malformed")
        if len(stamps) != len(values) or not all(isinstance(v, int) for v in values):
            raise LogStoreProtocolError("a hits group's counts don't match its times")
        labels = {field: str(fields[field])} if isinstance(fields.get(field), str) else {}
        points = tuple(_points(stamps, values))
        series.append(VolumeSeries(labels=labels, points=points))
    return series


def _points(stamps: Iterable[object], values: Iterable[int]) -> Iterable[VolumePoint]:
    for stamp, value in zip(stamps, values, strict=True):
        yield VolumePoint(timestamp_ns=parse_time_ns(stamp), count=value)


def parse_values(payload: Any) -> list[str]:
    """Values of a ``/select/logsql/field_values`` answer."""
    values = payload.get("values") if isinstance(payload, dict) else None
    if not isinstance(values, list):
        raise LogStoreProtocolError("the field values answer has no values list")
    out = []
    for item in values:
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str):
            raise LogStoreProtocolError("a field value is not a string")
        out.append(clean_text(value))
    return out


def parse_newest(body: str) -> int | None:
    """The ``newest`` time of a ``stats max(_time) as newest`` answer (None: no lines)."""
    for row in _json_rows(body):
        value = row.get("newest") if isinstance(row, dict) else None
        if isinstance(value, str) and value:
            return parse_time_ns(value)
    return None


def parse_count(body: str) -> int:
    """The ``n`` of a ``stats count() as n`` answer (no row: 0)."""
    for row in _json_rows(body):
        value = row.get("n") if isinstance(row, dict) else None
        if isinstance(value, str) and value.isdigit():
            return int(value)
        if row is not None:
            raise LogStoreProtocolError("a count answer has no count")
    return 0
