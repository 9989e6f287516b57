"""The drains' pure parts: how a line is written for each kind, the filters, the back-off."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from devpush.core.labels import LOG_SOURCES
from devpush.logs.entries import LogEntry
from devpush.models import DrainKind, EnvironmentKind, LogDrain
from devpush.services.drains.configure import SOURCES, otlp_logs_url, shown_url, syslog_address
from devpush.services.drains.delivery import DrainTiming, passes, retry_delay
from devpush.services.drains.records import (
    DrainLine,
    entry_source,
    ndjson_body,
    octet_counted,
    otlp_body,
    syslog_message,
)

LABELS = {
    "project_id": "p1",
    "environment_id": "e-prod",
    "branch": "main",
    "deployment_id": "d1",
    "stream": "stderr",
}
# 2026-12-06T01:02:03.456789123Z
AT = 1_796_518_923_456_789_123


def entry(text: str, **labels: str) -> LogEntry:
    merged = {**LABELS, **labels}
    return LogEntry(timestamp_ns=AT, line=text, labels={k: v for k, v in merged.items() if v})


def test_the_sources_are_the_stored_ones() -> None:
    assert SOURCES == LOG_SOURCES


def test_a_line_without_a_stream_is_a_request_entry() -> None:
    assert entry_source(entry("x")) == "stderr"
    assert entry_source(entry("GET / 200 1ms", stream="", source="request")) == "request"
    assert entry_source(entry("GET / 200 1ms", stream="")) == "request"


def test_rfc5424_message_and_octet_counting() -> None:
    line = DrainLine.of(entry('WARN disk "full" ]'))
    message = syslog_message(line, hostname="host one", app_name="shop")
    header, _, text = message.partition(b"\xef\xbb\xbf")
    assert header.decode() == (
        "<12>1 2026-12-06T01:02:03.456789Z hostone shop d1 stderr "
        '[devpush@32473 project="p1" environment="e-prod" deployment="d1" branch="main" '
        f'id="{line.id}"] '
    )
    assert text.decode() == 'WARN disk "full" ]'
    framed = octet_counted([b"abc", "é".encode()])
    assert framed == b"3 abc2 \xc3\xa9"


def test_structured_data_values_are_escaped() -> None:
    line = DrainLine.of(entry("x", branch='fix/"quote"]\\'))
    message = syslog_message(line, hostname="h", app_name="a").decode()
    assert 'branch="fix/\\"quote\\"\\]\\\\"' in message


def test_ndjson_records() -> None:
    body = ndjson_body([DrainLine.of(entry("ERROR boom"))], project_slug="shop")
    (record,) = [json.loads(row) for row in body.splitlines()]
    assert record == {
        "id": f"{AT}-{entry('ERROR boom').key}",
        "timestamp": AT // 1_000_000,
        "time": "2026-12-06T01:02:03.456789Z",
        "message": "ERROR boom",
        "source": "stderr",
        "level": "error",
        "project": "shop",
        "projectId": "p1",
        "environmentId": "e-prod",
        "deploymentId": "d1",
        "branch": "main",
    }


def test_otlp_request() -> None:
    body: dict[str, Any] = json.loads(
        otlp_body([DrainLine.of(entry("INFO ready"))], project_slug="shop")
    )
    (resource,) = body["resourceLogs"]
    assert {"key": "service.name", "value": {"stringValue": "shop"}} in resource["resource"][
        "attributes"
    ]
    (record,) = resource["scopeLogs"][0]["logRecords"]
    assert record["timeUnixNano"] == str(AT)
    assert record["body"] == {"stringValue": "INFO ready"}
    assert (record["severityNumber"], record["severityText"]) == (9, "INFO")
    assert otlp_logs_url("https://o.example.org/") == "https://o.example.org/v1/logs"
    assert otlp_logs_url("https://o.example.org/v1/logs") == "https://o.example.org/v1/logs"


def test_syslog_addresses() -> None:
    assert syslog_address("syslog+tls://logs.example.org:6514").tls is True
    assert syslog_address("syslog://127.0.0.1:514").port == 514
    with pytest.raises(ValueError, match="host and a port"):
        syslog_address("syslog://logs.example.org")


def drain(**fields: Any) -> LogDrain:
    values = {
        "kind": DrainKind.HTTPS,
        "url": "https://x.org",
        "sources": list(LOG_SOURCES),
        "environment": None,
        "min_level": None,
        **fields,
    }
    return LogDrain(**values)


def test_filters() -> None:
    prod = "e-prod"
    assert passes(drain(), entry("anything"), production_id=prod)
    assert not passes(drain(sources=["stdout"]), entry("x"), production_id=prod)
    preview = drain(environment=EnvironmentKind.PREVIEW)
    assert not passes(preview, entry("x"), production_id=prod)
    assert passes(preview, entry("x", environment_id="e-pr"), production_id=prod)
    production = drain(environment=EnvironmentKind.PRODUCTION)
    assert passes(production, entry("x"), production_id=prod)
    assert not passes(production, entry("x", environment_id="e-pr"), production_id=prod)
    assert not passes(production, entry("x"), production_id=None)
    warn = drain(min_level="warning")
    assert passes(warn, entry("ERROR x"), production_id=prod)
    assert passes(warn, entry("WARNING x"), production_id=prod)
    assert not passes(warn, entry("INFO x"), production_id=prod)
    assert not passes(warn, entry("no level"), production_id=prod)


def test_back_off_doubles_to_its_ceiling_with_jitter() -> None:
    timing = DrainTiming(first_retry_seconds=1.0, max_retry_seconds=30.0)
    rng = random.Random(7)
    for failures, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0), (500, 30.0)):
        delays = [retry_delay(failures, timing, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_urls_are_shown_without_their_query() -> None:
    shown = shown_url(drain(url="https://in.example.org/v1/input?dd-api-key=s3cr3t"))
    assert shown == "https://in.example.org/v1/input?…"
