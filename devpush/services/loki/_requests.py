"""LogQL for request entries (Alloy → Loki): stored with the label ``source="request"``
and a JSON line (``{"method":…, "path":…, "status":…, "duration_ms":…, …}``), read with
``| json``. Only the compiled text is tested here (no Loki runs in the suite).

A request entry's line becomes the human line (``GET /path 200 12ms``) and its fields the
``request.*`` fields when read (:func:`request_entry`), as VictoriaLogs stores them.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Final

from devpush.core.labels import REQUEST_FIELDS, REQUEST_SOURCE, SOURCE_LABEL
from devpush.logs.entries import LogEntry
from devpush.logs.query import LogQuery
from devpush.logs.requests import STATUS_LABEL, number
from devpush.services.loki._logql import duration, log_query

#: The JSON keys of a request entry's line (the API's names: REQUEST_FIELDS' keys).
STATUS_KEY: Final = "status"
DURATION_KEY: Final = "duration_ms"


def _requests(query: LogQuery, *, max_search_chars: int) -> str:
    return log_query(
        dataclasses.replace(query, stream=REQUEST_SOURCE), max_search_chars=max_search_chars
    )


def stats_queries(query: LogQuery, *, span: timedelta, max_search_chars: int) -> dict[str, str]:
    """Instant queries over ``span`` (the range, ending at the query's end): the count, the
    5xx count and the p50/p95 duration of the query's requests."""
    selected = _requests(query, max_search_chars=max_search_chars)
    window = duration(span)
    durations = f"{selected} | json | unwrap {DURATION_KEY} | __error__=``"
    return {
        "requests": f"sum(count_over_time({selected} [{window}]))",
        "errors": (
            f"sum(count_over_time({selected} | json | {STATUS_KEY} >= 500 "
            f"| __error__=`` [{window}]))"
        ),
        "p50": f"quantile_over_time(0.5, {durations} [{window}]) by ()",
        "p95": f"quantile_over_time(0.95, {durations} [{window}]) by ()",
    }


def status_volume_query(query: LogQuery, *, step: timedelta, max_search_chars: int) -> str:
    """Requests per ``step`` by status code."""
    selected = _requests(query, max_search_chars=max_search_chars)
    return (
        f"sum by ({STATUS_LABEL}) (count_over_time({selected} | json {STATUS_LABEL}="
        f'"{STATUS_KEY}" | __error__=`` [{duration(step)}]))'
    )


def instant_value(payload: object) -> float | None:
    """The one sample of an instant ``vector`` answer (None: no series, as with no line)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, list) or not result or not isinstance(result[0], dict):
        return None
    value = result[0].get("value")
    return number(value[1]) if isinstance(value, list) and len(value) == 2 else None


def request_entry(entry: LogEntry) -> LogEntry:
    """A request entry's JSON line read into fields and a human line; others unchanged."""
    if entry.labels.get(SOURCE_LABEL) != REQUEST_SOURCE:
        return entry
    try:
        body = json.loads(entry.line)
    except ValueError:
        return entry
    if not isinstance(body, dict):
        return entry
    fields = {
        stored: str(body[name])
        for name, stored in REQUEST_FIELDS.items()
        if body.get(name) not in (None, "")
    }
    ms = number(body.get(DURATION_KEY))
    took = "" if ms is None else (f"{ms:.1f}ms" if ms < 10 else f"{round(ms)}ms")
    line = " ".join(
        str(part)
        for part in (body.get("method"), body.get("path"), body.get(STATUS_KEY), took)
        if part not in (None, "")
    )
    return LogEntry(timestamp_ns=entry.timestamp_ns, line=line, labels=entry.labels, fields=fields)
