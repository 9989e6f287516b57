"""Loki as a log store: LogQL built from typed queries, over ``query_range``.

The private modules each do one job: ``_logql`` (query text), ``_models`` (answers),
``_client`` (HTTP). Paging, the tail and the errors are the store-neutral ones of
``devpush.logs``.
"""

from __future__ import annotations

from devpush.services.loki._client import LokiStore
from devpush.services.loki._logql import (
    duration,
    line_filters,
    log_query,
    stream_selector,
    volume_query,
)
from devpush.services.loki._models import parse_matrix, parse_streams

__all__ = [
    "LokiStore",
    "duration",
    "line_filters",
    "log_query",
    "parse_matrix",
    "parse_streams",
    "stream_selector",
    "volume_query",
]
