"""A drained line, and how each kind of drain writes a batch of them.

- https: NDJSON, one JSON object a line (the fields of :func:`json_record`);
- syslog: RFC 5424 messages, octet-counted (RFC 6587 3.4.1: ``<length> <message>``);
- otlp: an OTLP/HTTP JSON ``ExportLogsServiceRequest`` (one resource per project).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from devpush.core.labels import (
    BRANCH_LABEL,
    DEPLOYMENT_LABEL,
    ENVIRONMENT_LABEL,
    PROJECT_LABEL,
    REQUEST_SOURCE,
)
from devpush.logs.entries import LogEntry
from devpush.logs.levels import Level, detect_level
from devpush.units import SECOND_NS

#: The source of a test line ("Send a test line"): never a stored line's.
TEST_SOURCE: Final = "test"
# RFC 5424 severities (6.2.1) of the detected levels; a line without one: informational.
_SEVERITY: Final[Mapping[Level | None, int]] = {
    "error": 3,
    "warning": 4,
    "info": 6,
    "debug": 7,
    None: 6,
}
# OTLP SeverityNumber (logs data model): ERROR=17, WARN=13, INFO=9, DEBUG=5.
_OTLP_SEVERITY: Final[Mapping[Level, tuple[int, str]]] = {
    "error": (17, "ERROR"),
    "warning": (13, "WARN"),
    "info": (9, "INFO"),
    "debug": (5, "DEBUG"),
}
#: Facility "user-level messages" (RFC 5424 6.2.1).
SYSLOG_FACILITY: Final = 1
#: The structured data's id: devpush@<the private enterprise number RFC 5612 sets aside
#: for documentation>, as no number is registered for devpush.
SD_ID: Final = "devpush@32473"
_NILVALUE: Final = "-"


@dataclass(frozen=True, slots=True)
class DrainLine:
    """One line as drains send it: its id, time, text, source, level and labels."""

    id: str
    timestamp_ns: int
    message: str
    source: str
    level: Level | None
    project_id: str
    environment_id: str
    deployment_id: str
    branch: str

    @classmethod
    def of(cls, entry: LogEntry) -> DrainLine:
        labels = entry.labels
        return cls(
            id=entry.id,
            timestamp_ns=entry.timestamp_ns,
            message=entry.line,
            source=entry_source(entry),
            level=detect_level(entry.line),
            project_id=labels.get(PROJECT_LABEL, ""),
            environment_id=labels.get(ENVIRONMENT_LABEL, ""),
            deployment_id=labels.get(DEPLOYMENT_LABEL, ""),
            branch=labels.get(BRANCH_LABEL, ""),
        )


def entry_source(entry: LogEntry) -> str:
    """``stdout``, ``stderr`` or ``request`` (:attr:`LogEntry.source`)."""
    return entry.source or REQUEST_SOURCE


def _iso(timestamp_ns: int) -> str:
    """RFC 3339 with microseconds (RFC 5424 allows at most six digits), in UTC."""
    seconds, nanos = divmod(timestamp_ns, SECOND_NS)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=nanos // 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_record(line: DrainLine, *, project_slug: str) -> dict[str, Any]:
    """One NDJSON line of an https drain (Vercel's drains send similar fields)."""
    return {
        "id": line.id,
        "timestamp": line.timestamp_ns // 1_000_000,  # milliseconds, as Vercel sends
        "time": _iso(line.timestamp_ns),
        "message": line.message,
        "source": line.source,
        "level": line.level,
        "project": project_slug,
        "projectId": line.project_id,
        "environmentId": line.environment_id,
        "deploymentId": line.deployment_id,
        "branch": line.branch,
    }


def ndjson_body(lines: Iterable[DrainLine], *, project_slug: str) -> bytes:
    return b"".join(
        json.dumps(json_record(line, project_slug=project_slug), ensure_ascii=False).encode()
        + b"\n"
        for line in lines
    )


def _header_token(text: str, *, max_chars: int) -> str:
    """A HOSTNAME/APP-NAME/PROCID/MSGID field: printable US-ASCII without spaces, or ``-``."""
    token = "".join(c for c in text if 33 <= ord(c) <= 126)[:max_chars]
    return token or _NILVALUE


def _sd_value(text: str) -> str:
    """A PARAM-VALUE: ``"``, ``\\`` and ``]`` escaped (RFC 5424 6.3.3)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_message(line: DrainLine, *, hostname: str, app_name: str) -> bytes:
    """One RFC 5424 message: the project as APP-NAME, the deployment as PROCID, the source
    as MSGID, the labels as structured data, the line as MSG (UTF-8 with its BOM)."""
    pri = SYSLOG_FACILITY * 8 + _SEVERITY[line.level]
    params = (
        ("project", line.project_id),
        ("environment", line.environment_id),
        ("deployment", line.deployment_id),
        ("branch", line.branch),
        ("id", line.id),
    )
    structured = f"[{SD_ID} " + " ".join(f'{k}="{_sd_value(v)}"' for k, v in params) + "]"
    header = " ".join(
        (
            f"<{pri}>1",
            _iso(line.timestamp_ns),
            _header_token(hostname, max_chars=255),
            _header_token(app_name, max_chars=48),
            _header_token(line.deployment_id, max_chars=128),
            _header_token(line.source, max_chars=32),
            structured,
        )
    )
    return header.encode() + b" \xef\xbb\xbf" + line.message.encode("utf-8", "replace")


def octet_counted(messages: Iterable[bytes]) -> bytes:
    """RFC 6587 octet counting: each message preceded by its length in bytes and a space."""
    return b"".join(str(len(message)).encode() + b" " + message for message in messages)


def _attribute(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def otlp_body(lines: Sequence[DrainLine], *, project_slug: str) -> bytes:
    """An OTLP/HTTP JSON logs request: the project as the resource (``service.name``),
    each line a log record with its labels and source as attributes."""
    records = []
    for line in lines:
        record: dict[str, Any] = {
            "timeUnixNano": str(line.timestamp_ns),
            "observedTimeUnixNano": str(line.timestamp_ns),
            "body": {"stringValue": line.message},
            "attributes": [
                _attribute("devpush.source", line.source),
                _attribute("devpush.environment_id", line.environment_id),
                _attribute("devpush.deployment_id", line.deployment_id),
                _attribute("devpush.branch", line.branch),
                _attribute("devpush.line_id", line.id),
            ],
        }
        if line.level is not None:
            number, text = _OTLP_SEVERITY[line.level]
            record["severityNumber"] = number
            record["severityText"] = text
        records.append(record)
    request = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        _attribute("service.name", project_slug),
                        _attribute("devpush.project_id", lines[0].project_id if lines else ""),
                    ]
                },
                "scopeLogs": [{"scope": {"name": "devpush"}, "logRecords": records}],
            }
        ]
    }
    return json.dumps(request, ensure_ascii=False).encode()
