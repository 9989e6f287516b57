"""Compile a query-language tree (``devpush.logs.qlang.ast``) to a LogsQL filter.

The result goes after the project's stream filter and the request's exact fields (see
``_logsql.filters``), so it can only narrow them. Values are Go-quoted; field names come
from ``devpush.logs.qlang.fields`` or are checked ``json.<field>`` paths. Line filters
are regexps over ``_msg`` (``~"…"``), as the search box's plain and regex modes are.

``json.<field>`` needs the line unpacked first: the filter then runs as a pipe,
``| unpack_json from _msg fields (…) result_prefix "json." | filter …``, so the unpacked
names all start with ``json.`` and can't replace a stored field.
"""

from __future__ import annotations

from typing import Final, cast

from devpush.core.labels import REQUEST_FIELDS, REQUEST_SOURCE, SOURCE_LABEL, STREAM_LABEL
from devpush.logs.qlang.ast import (
    JSON_FIELD,
    JSON_PREFIX,
    And,
    Compare,
    Expr,
    FieldMatch,
    Not,
    Or,
    json_fields,
)
from devpush.logs.qlang.fields import (
    LABELS,
    REQUEST_KEYS,
    check_search_lengths,
    glob_regex,
    line_regex,
    number,
)
from devpush.logs.query import quoted_value

_RANGE_OPS: Final = {">=", ">", "<", "<="}


def compile_expr(expr: Expr, *, max_search_chars: int) -> str:
    """``expr`` as LogsQL: ``(filter)`` or, with ``json.<field>``, an unpack-and-filter pipe."""
    check_search_lengths(expr, max_chars=max_search_chars)
    text = _filter(expr)
    names = json_fields(expr)
    if not names:
        return f"({text})"
    for name in names:  # the parser checked them; checked again where they become syntax
        if not JSON_FIELD.fullmatch(name):
            raise ValueError(f"not a JSON field name: {name!r}")
    fields = ", ".join(quoted_value(name) for name in names)
    prefix = quoted_value(JSON_PREFIX)
    return f"| unpack_json from _msg fields ({fields}) result_prefix {prefix} | filter ({text})"


def _filter(expr: Expr) -> str:
    if isinstance(expr, And):
        return "(" + " ".join(_filter(item) for item in expr.items) + ")"
    if isinstance(expr, Or):
        return "(" + " or ".join(_filter(item) for item in expr.items) + ")"
    if isinstance(expr, Not):
        return f"!({_filter(expr.item)})"
    pattern = line_regex(expr)
    if pattern is not None:
        return f"~{quoted_value(pattern)}"
    if isinstance(expr, Compare):
        name = quoted_value(REQUEST_FIELDS[REQUEST_KEYS[expr.field]])
        if expr.op in _RANGE_OPS:
            return f"{name}:{expr.op}{number(expr.value)}"
        return f"{name}:range[{number(expr.value)}, {number(expr.value)}]"
    return _field_match(cast(FieldMatch, expr))


def _field_match(match: FieldMatch) -> str:
    if match.field == SOURCE_LABEL:
        if match.wildcard:
            return f"({_match(SOURCE_LABEL, match)} or {_match(STREAM_LABEL, match)})"
        if match.value == REQUEST_SOURCE:
            return f"{SOURCE_LABEL}:={quoted_value(REQUEST_SOURCE)}"
        return f"{STREAM_LABEL}:={quoted_value(match.value)}"
    if match.field in LABELS:
        return _match(LABELS[match.field], match)
    if match.field in REQUEST_KEYS:
        return _match(REQUEST_FIELDS[REQUEST_KEYS[match.field]], match)
    if match.json_field is not None:
        return _match(JSON_PREFIX + match.json_field, match)
    raise ValueError(f"unknown field {match.field!r}")  # the parser lets none through


def _match(stored: str, match: FieldMatch) -> str:
    name = quoted_value(stored)
    if match.wildcard:
        return f"{name}:~{quoted_value(glob_regex(match.value))}"
    return f"{name}:={quoted_value(match.value)}"
