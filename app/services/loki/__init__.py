"""Loki: LogQL built from typed queries, and an async client with gap-free paging and tail.

Public names live here; the private modules each do one job:
``_logql`` (query text), ``_models`` (answers), ``_paging`` (cursors), ``_client`` (HTTP),
``_errors`` (the error types, and the one place transport and HTTP errors are mapped).
"""

from __future__ import annotations

from app.services.loki._client import LogPage, LokiClient, open_http_client
from app.services.loki._errors import (
    InvalidCursor,
    InvalidQuery,
    InvalidSearch,
    LokiError,
    LokiProtocolError,
    LokiQueryError,
    LokiTimeout,
    LokiUnavailable,
)
from app.services.loki._logql import (
    Direction,
    LogQuery,
    SearchMode,
    Stream,
    log_query,
    logql_string,
    re2_quote_meta,
    stream_selector,
    validate_regex,
    volume_query,
)
from app.services.loki._models import (
    LogEntry,
    VolumePoint,
    VolumeSeries,
    parse_matrix,
    parse_streams,
)
from app.services.loki._paging import LogCursor, PagedEntry

__all__ = [
    "Direction",
    "InvalidCursor",
    "InvalidQuery",
    "InvalidSearch",
    "LogCursor",
    "LogEntry",
    "LogPage",
    "LogQuery",
    "LokiClient",
    "LokiError",
    "LokiProtocolError",
    "LokiQueryError",
    "LokiTimeout",
    "LokiUnavailable",
    "PagedEntry",
    "SearchMode",
    "Stream",
    "VolumePoint",
    "VolumeSeries",
    "log_query",
    "logql_string",
    "open_http_client",
    "parse_matrix",
    "parse_streams",
    "re2_quote_meta",
    "stream_selector",
    "validate_regex",
    "volume_query",
]
