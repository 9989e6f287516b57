"""What each field of the language is stored as, and the helpers both compilers share.

The stored names come from ``devpush.core.labels`` only: a compiler never writes a field
name taken from the query text, except a ``json.<field>`` path the parser has checked
against ``ast.JSON_FIELD``.
"""

from __future__ import annotations

from typing import Final

from devpush.core.labels import (
    BRANCH_LABEL,
    DEPLOYMENT_LABEL,
    ENVIRONMENT_LABEL,
    REQUEST_FIELDS,
    STREAM_LABEL,
)
from devpush.logs.errors import InvalidSearch
from devpush.logs.levels import LEVELS, Level, level_filter_regex
from devpush.logs.qlang.ast import Expr, FieldMatch, Phrase, Regex, Text, walk
from devpush.logs.query import re2_quote_meta

#: Label fields of the language → the stored label (``source`` is handled apart).
LABELS: Final = {
    "deployment": DEPLOYMENT_LABEL,
    "environment": ENVIRONMENT_LABEL,
    "branch": BRANCH_LABEL,
    "stream": STREAM_LABEL,
}
#: Request fields of the language → the key of ``REQUEST_FIELDS`` (stored ``request.*``).
REQUEST_KEYS: Final = {
    "method": "method",
    "path": "path",
    "host": "host",
    "client": "client",
    "user_agent": "user_agent",
    "status": "status",
    "duration": "duration_ms",
}
assert set(REQUEST_KEYS.values()) <= set(REQUEST_FIELDS)


def glob_regex(value: str) -> str:
    """An anchored RE2 pattern of a ``*`` wildcard value (every other character literal)."""
    return "(?s)^" + ".*".join(re2_quote_meta(part) for part in value.split("*")) + "$"


def number(value: float) -> str:
    """A number as a store reads it: ``500``, ``1500``, ``12.5`` (never an exponent)."""
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def level(value: str) -> Level:
    """A ``level:`` value as a level (the parser lets no other through)."""
    if value not in LEVELS:
        raise ValueError(f"unknown level {value!r}")
    return value


def line_regex(expr: Expr) -> str | None:
    """The RE2 pattern of a term on the line alone (text, phrase, regex, level), else None."""
    if isinstance(expr, Text):
        return "(?i)" + re2_quote_meta(expr.text)
    if isinstance(expr, Phrase):
        return re2_quote_meta(expr.text)
    if isinstance(expr, Regex):
        return expr.pattern
    if isinstance(expr, FieldMatch) and expr.field == "level":
        return level_filter_regex(level(expr.value))
    return None


def check_search_lengths(expr: Expr, *, max_chars: int) -> None:
    """Each text, phrase and regex within ``Settings.log_search_max_chars``, as a search is."""
    for node in walk(expr):
        text = node.pattern if isinstance(node, Regex) else getattr(node, "text", None)
        if isinstance(node, Text | Phrase | Regex) and text is not None and len(text) > max_chars:
            raise InvalidSearch(f"search text is longer than {max_chars} characters")
