"""Build LogQL text from a typed query; user text can never change the query's shape.

Strings: Loki's lexer (``pkg/logql/syntax/lex.go``, v3.5) scans a double-quoted string
like Go's ``text/scanner`` (a raw newline ends it with an error, a NUL byte or invalid
UTF-8 anywhere is an error) and unquotes it with Prometheus ``strutil.Unquote``, which
is Go's ``strconv.Unquote``: so every value goes into a double-quoted string built by
:func:`devpush.logs.query.go_quote` (back-quoted strings can't hold a back-quote).

Plain search is ``|~ "(?i)" + QuoteMeta(text)``; regex search is ``|~ pattern``, both
validated by :func:`devpush.logs.query.search_regex`.
"""

from __future__ import annotations

import math
from datetime import timedelta

from devpush.core.labels import JOB_LABEL, LOKI_JOB, REQUEST_SOURCE, SOURCE_LABEL, STREAM_LABEL
from devpush.logs.errors import InvalidQuery
from devpush.logs.query import LogQuery, go_quote, line_regexes, quoted_value
from devpush.services.loki._qlang import compile_expr


def stream_selector(query: LogQuery) -> str:
    """``{project_id="…", …, job="docker"[, stream="…"]}`` with every value escaped."""
    matchers = [f"{name}={quoted_value(value)}" for name, value in query.fields.items()]
    matchers.append(f"{JOB_LABEL}={go_quote(LOKI_JOB)}")
    if query.stream == REQUEST_SOURCE:
        matchers.append(f"{SOURCE_LABEL}={go_quote(REQUEST_SOURCE)}")
    elif query.stream is not None:
        matchers.append(f"{STREAM_LABEL}={go_quote(query.stream)}")
    return "{" + ", ".join(matchers) + "}"


def line_filters(query: LogQuery, *, max_search_chars: int) -> str:
    """The ``|~ "…"`` line filters for search and level ('' when there are none)."""
    patterns = line_regexes(query, max_search_chars=max_search_chars)
    filters = [f"|~ {go_quote(pattern)}" for pattern in patterns]
    if query.expr is not None:
        filters.append(compile_expr(query.expr, max_search_chars=max_search_chars))
    return " ".join(filters)


def log_query(query: LogQuery, *, max_search_chars: int) -> str:
    """The LogQL log query: selector then line filters."""
    filters = line_filters(query, max_search_chars=max_search_chars)
    selector = stream_selector(query)
    return f"{selector} {filters}" if filters else selector


def volume_query(query: LogQuery, *, step: timedelta, max_search_chars: int) -> str:
    """Lines per ``step`` by stream: ``sum by (stream) (count_over_time(… [step]))``."""
    return (
        f"sum by ({STREAM_LABEL}) (count_over_time("
        f"{log_query(query, max_search_chars=max_search_chars)} [{duration(step)}]))"
    )


def duration(step: timedelta) -> str:
    """A Prometheus duration (whole seconds, or ms below a second) for a range or step."""
    total_ms = step / timedelta(milliseconds=1)
    if total_ms <= 0 or not math.isfinite(total_ms) or total_ms != int(total_ms):
        raise InvalidQuery("step must be a positive whole number of milliseconds")
    ms = int(total_ms)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
