"""LogsQL for request entries: the stats of a deployment's requests (the ``stats`` pipe)."""

from __future__ import annotations

import json
from typing import Final

from devpush.core.labels import REQUEST_FIELDS
from devpush.logs.errors import LogStoreProtocolError
from devpush.logs.requests import RequestStats, number

STATUS_FIELD: Final = REQUEST_FIELDS["status"]
_DURATION: Final = REQUEST_FIELDS["duration_ms"]


def stats_query(filters: str) -> str:
    """Count, 5xx count, p50 and p95 duration of the requests ``filters`` select."""
    return (
        f"{filters} | stats count() as requests,"
        f' count() if ("{STATUS_FIELD}":>=500) as errors,'
        f' quantile(0.5, "{_DURATION}") as p50, quantile(0.95, "{_DURATION}") as p95'
    )


def parse_stats(body: str) -> RequestStats:
    """The one row of a :func:`stats_query` answer (none: no request)."""
    rows = [line for line in body.splitlines() if line.strip()]
    if not rows:
        return RequestStats(count=0, errors=0, p50_ms=None, p95_ms=None)
    try:
        row = json.loads(rows[0])
    except ValueError as exc:
        raise LogStoreProtocolError("a request stats answer is not JSON") from exc
    if not isinstance(row, dict):
        raise LogStoreProtocolError("a request stats answer is not an object")
    count = int(number(row.get("requests")) or 0)
    return RequestStats(
        count=count,
        errors=int(number(row.get("errors")) or 0),
        # Quantiles of no request are meaningless (VictoriaLogs answers NaN or 0).
        p50_ms=number(row.get("p50")) if count else None,
        p95_ms=number(row.get("p95")) if count else None,
    )
