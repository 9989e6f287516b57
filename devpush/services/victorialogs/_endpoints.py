"""VictoriaLogs' HTTP API paths: one table for the store, the export and the
recovery check."""

from __future__ import annotations

import enum


class Endpoint(enum.StrEnum):
    QUERY = "/select/logsql/query"
    HITS = "/select/logsql/hits"
    FIELD_VALUES = "/select/logsql/field_values"
    HEALTH = "/health"
    FORCE_FLUSH = "/internal/force_flush"
    METRICS = "/metrics"
    INSERT = "/insert/jsonline"
