"""VictoriaLogs as a log store: LogsQL built from typed queries over ``/select/logsql``.

The private modules each do one job: ``_logsql`` (query text), ``_models`` (answers),
``_client`` (HTTP). Paging, the tail and the errors are the store-neutral ones of
``devpush.logs``.
"""

from __future__ import annotations

from devpush.services.victorialogs._client import VictoriaLogsStore
from devpush.services.victorialogs._logsql import filters, ordered
from devpush.services.victorialogs._models import (
    parse_hits,
    parse_lines,
    parse_time_ns,
    parse_values,
)

__all__ = [
    "VictoriaLogsStore",
    "filters",
    "ordered",
    "parse_hits",
    "parse_lines",
    "parse_time_ns",
    "parse_values",
]
