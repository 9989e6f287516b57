"""Typed records parsed from Loki's JSON answers."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from app.core.labels import STREAM_LABEL
from app.services.loki._errors import LokiProtocolError

_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Replace lone surrogates (JSON ``"\\ud800"`` decodes to one) with U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log line: its stream's labels, its timestamp in Unix ns, its text."""

    timestamp_ns: int
    line: str
    labels: Mapping[str, str] = field(hash=False)

    @property
    def key(self) -> str:
        """Identity of the entry among those sharing its timestamp.

        Loki keeps one copy of identical (stream, timestamp, line) entries, so the stream's
        labels plus the line identify an entry at a timestamp. 64 bits of BLAKE2b keep
        cursors short; a collision needs two distinct lines at one nanosecond.
        """
        digest = hashlib.blake2b(digest_size=8)
        for name in sorted(self.labels):
            digest.update(f"{name}\x00{self.labels[name]}\x00".encode())
        digest.update(b"\x01")
        digest.update(self.line.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    @property
    def stream(self) -> str | None:
        return self.labels.get(STREAM_LABEL)


@dataclass(frozen=True, slots=True)
class VolumePoint:
    timestamp_ns: int
    count: int


@dataclass(frozen=True, slots=True)
class VolumeSeries:
    """Line counts over time for one label set (``{"stream": "stdout"}``)."""

    labels: Mapping[str, str] = field(hash=False)
    points: tuple[VolumePoint, ...]


def _data(payload: Any, result_type: str) -> list[Any]:
    if not isinstance(payload, dict) or payload.get("status") != "success":
        raise LokiProtocolError("Loki's answer is not a success object")
    data = payload.get("data")
    if not isinstance(data, dict) or data.get("resultType") != result_type:
        got = data.get("resultType") if isinstance(data, dict) else None
        raise LokiProtocolError(f"expected a {result_type!r} result from Loki, got {got!r}")
    result = data.get("result")
    if not isinstance(result, list):
        raise LokiProtocolError("Loki's result is not a list")
    return result


def _labels(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise LokiProtocolError("Loki's stream labels are not a string map")
    return {clean_text(k): clean_text(v) for k, v in raw.items()}


def parse_streams(payload: Any) -> list[LogEntry]:
    """Entries of a ``streams`` answer, in Loki's order (grouped by stream)."""
    entries: list[LogEntry] = []
    for item in _data(payload, "streams"):
        if not isinstance(item, dict) or not isinstance(item.get("values"), list):
            raise LokiProtocolError("a Loki stream has no values list")
        labels = _labels(item.get("stream"))
        for value in item["values"]:
            # [ts, line] or, with categorize-labels, [ts, line, {metadata}].
            if not isinstance(value, list) or len(value) < 2:
                raise LokiProtocolError("a Loki entry is not a [timestamp, line] pair")
            ts, line = value[0], value[1]
            if not isinstance(ts, str) or not ts.isascii() or not ts.isdigit():
                raise LokiProtocolError(f"a Loki timestamp is not nanoseconds: {ts!r}")
            if not isinstance(line, str):
                raise LokiProtocolError("a Loki log line is not a string")
            entries.append(LogEntry(timestamp_ns=int(ts), line=clean_text(line), labels=labels))
    return entries


def parse_matrix(payload: Any) -> list[VolumeSeries]:
    """Series of a ``matrix`` answer (``[seconds, "value"]`` samples)."""
    series = []
    for item in _data(payload, "matrix"):
        if not isinstance(item, dict) or not isinstance(item.get("values"), list):
            raise LokiProtocolError("a Loki series has no values list")
        points = []
        for sample in item["values"]:
            try:
                seconds, value = float(sample[0]), float(sample[1])
            except (TypeError, ValueError, IndexError, KeyError) as exc:
                raise LokiProtocolError(f"a Loki sample is malformed: {sample!r}") from exc
            if not (math.isfinite(seconds) and math.isfinite(value)):
                raise LokiProtocolError(f"a Loki sample is not finite: {sample!r}")
            # Loki's sample times have millisecond precision.
            points.append(
                VolumePoint(timestamp_ns=round(seconds * 1000) * 1_000_000, count=round(value))
            )
        series.append(VolumeSeries(labels=_labels(item.get("metric")), points=tuple(points)))
    return series
