"""Build LogsQL text from a typed query; user text can never change the query's shape.

VictoriaLogs' parser (``lib/logstorage/parser.go``) reads a double-quoted string with Go's
``strconv.QuotedPrefix`` and ``strconv.Unquote``, so every value goes into a string built
by :func:`devpush.logs.query.go_quote`, and a field name is never user text. Its regexp filter
(``~"…"``) is Go's ``regexp`` over ``_msg``, unanchored: the same pattern the Loki backend
sends, so search means the same in both stores.

The project is a ``_stream`` filter (the collector makes every LOG_FIELDS name a stream
field; a stream filter is the fast path), and each other filter an exact field filter
(``name:="value"``), which matches whether or not the field is a stream field.
"""

from __future__ import annotations

from typing import Final

from devpush.core.labels import (
    HOST_LABEL,
    LOG_FIELDS,
    PROJECT_LABEL,
    REQUEST_FIELDS,
    REQUEST_SOURCE,
    SOURCE_LABEL,
    STREAM_LABEL,
)
from devpush.logs.query import Direction, LogQuery, go_quote, line_regexes, quoted_value
from devpush.services.victorialogs._qlang import compile_expr

#: Fields the backend asks for: the time, the line and the LOG_FIELDS.
RESULT_FIELDS: Final = ("_time", "_msg", *LOG_FIELDS)
#: And a request entry's: its source and its ``request.*`` fields; in swarm mode a line's host.
ENTRY_FIELDS: Final = (*RESULT_FIELDS, SOURCE_LABEL, HOST_LABEL, *REQUEST_FIELDS.values())


def filters(query: LogQuery, *, max_search_chars: int) -> str:
    """The LogsQL filters of ``query``: project stream, exact fields, search and level."""
    parts = [f"_stream:{{{PROJECT_LABEL}={quoted_value(query.project_id)}}}"]
    parts += [
        f"{name}:={quoted_value(value)}"
        for name, value in query.fields.items()
        if name != PROJECT_LABEL
    ]
    if query.stream == REQUEST_SOURCE:
        parts.append(f"{SOURCE_LABEL}:={go_quote(REQUEST_SOURCE)}")
    elif query.stream is not None:
        parts.append(f"{STREAM_LABEL}:={go_quote(query.stream)}")
    patterns = line_regexes(query, max_search_chars=max_search_chars)
    parts += [f"~{go_quote(pattern)}" for pattern in patterns]
    if query.expr is not None:
        # Last: a ``json.<field>`` query is a pipe, after every plain filter.
        parts.append(compile_expr(query.expr, max_search_chars=max_search_chars))
    return " ".join(parts)


def ordered(text: str, *, direction: Direction, limit: int) -> str:
    """``text`` sorted by time in ``direction``, cut at ``limit``, with only the fields used."""
    order = "" if direction == "forward" else " desc"
    fields = ", ".join(f'"{name}"' if "." in name else name for name in ENTRY_FIELDS)
    return f"{text} | fields {fields} | sort by (_time{order}) limit {int(limit)}"
