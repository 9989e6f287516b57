"""Compile a query-language tree (``devpush.logs.qlang.ast``) to LogQL pipeline stages.

The stages follow the project's stream selector (``_logql.log_query``), so they can only
narrow it. Top-level terms on the line alone (text, phrase, regex, level, and their
negations) become line filters (``|~``, ``!~``), the fast path. The rest is one label
filter expression, which LogQL can combine with ``and``/``or`` but not negate: the tree
is put in negation normal form, each leaf negated by its operator.

Label filters see labels only, so what they test is made a label first, under names of
our own (``devpush_*``, never user text): the line (``label_format`` of ``__line__``),
a request's fields and ``json.<field>`` paths (``| json name="path"``; a request entry's
line is its JSON object, with ``source="request"``). Those labels, and the parse errors
of lines that are not JSON, are dropped at the end. A numeric comparison keeps only lines
whose label is a number: Loki keeps a line whose label fails to convert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, cast

from devpush.core.labels import REQUEST_SOURCE, SOURCE_LABEL, STREAM_LABEL
from devpush.logs.qlang.ast import (
    JSON_FIELD,
    And,
    Compare,
    Expr,
    FieldMatch,
    Not,
    Or,
)
from devpush.logs.qlang.fields import (
    LABELS,
    REQUEST_KEYS,
    check_search_lengths,
    glob_regex,
    line_regex,
    number,
)
from devpush.logs.query import go_quote, quoted_value

LINE_LABEL: Final = "devpush_line"
_NUMERIC: Final = "[0-9]+(?:\\.[0-9]+)?"
#: The language's comparison → LogQL's, and → LogQL's for its negation.
_NEGATED_OP: Final = {">=": "<", ">": "<=", "<": ">=", "<=": ">", "=": "!="}
_LOKI_OP: Final = {">=": ">=", ">": ">", "<": "<", "<=": "<=", "=": "=="}


def compile_expr(expr: Expr, *, max_search_chars: int) -> str:
    """``expr`` as LogQL stages (line filters, then one label filter), never empty."""
    check_search_lengths(expr, max_chars=max_search_chars)
    conjuncts = list(expr.items) if isinstance(expr, And) else [expr]
    lines = [item for item in conjuncts if _line_filter(item) is not None]
    rest = [item for item in conjuncts if _line_filter(item) is None]
    stages = [cast(str, _line_filter(item)) for item in lines]
    if rest:
        builder = _Labels()
        condition = builder.condition(And(tuple(rest)) if len(rest) > 1 else rest[0], False)
        stages += builder.extractions()
        stages.append(f"| {condition}")
        stages.append(f"| drop {', '.join([*builder.made, '__error__', '__error_details__'])}")
    return " ".join(stages)


def _line_filter(item: Expr) -> str | None:
    negated = isinstance(item, Not)
    pattern = line_regex(item.item if isinstance(item, Not) else item)
    if pattern is None:
        return None
    return f"{'!~' if negated else '|~'} {quoted_value(pattern)}"


@dataclass
class _Labels:
    """Builds one label filter expression and the labels it needs made."""

    json: dict[str, str] = field(default_factory=dict)  # made label → JSON path
    line: bool = False

    @property
    def made(self) -> list[str]:
        return [*([LINE_LABEL] if self.line else []), *self.json]

    def extractions(self) -> list[str]:
        stages = []
        if self.json:
            pairs = ", ".join(f"{name}={go_quote(path)}" for name, path in self.json.items())
            stages.append(f"| json {pairs}")
        if self.line:
            stages.append(f"| label_format {LINE_LABEL}={go_quote('{{ __line__ }}')}")
        return stages

    def condition(self, expr: Expr, negated: bool) -> str:
        if isinstance(expr, Not):
            return self.condition(expr.item, not negated)
        if isinstance(expr, And | Or):
            joiner = " and " if isinstance(expr, And) != negated else " or "
            return "(" + joiner.join(self.condition(item, negated) for item in expr.items) + ")"
        pattern = line_regex(expr)
        if pattern is not None:
            self.line = True
            return _regex(LINE_LABEL, f"(?s).*(?:{pattern}).*", negated)
        if isinstance(expr, Compare):
            return self._compare(expr, negated)
        return self._field(cast(FieldMatch, expr), negated)

    def _extract(self, path: str, name: str) -> str:
        self.json.setdefault(name, path)
        return name

    def _compare(self, expr: Compare, negated: bool) -> str:
        key = REQUEST_KEYS[expr.field]
        name = self._extract(key, f"devpush_{key}")
        value = number(expr.value)
        if negated:
            return (
                f"({_is_request(True)} or {name}!~{go_quote(_NUMERIC)} "
                f"or {name} {_NEGATED_OP[expr.op]} {value})"
            )
        return (
            f"({_is_request(False)} and {name}=~{go_quote(_NUMERIC)} "
            f"and {name} {_LOKI_OP[expr.op]} {value})"
        )

    def _field(self, match: FieldMatch, negated: bool) -> str:
        if match.field == SOURCE_LABEL:
            if match.wildcard:
                joiner = " and " if negated else " or "
                return (
                    f"({_value(SOURCE_LABEL, match, negated)}{joiner}"
                    f"{_value(STREAM_LABEL, match, negated)})"
                )
            if match.value == REQUEST_SOURCE:
                return _is_request(negated)
            return _exact(STREAM_LABEL, match.value, negated)
        if match.field in LABELS:
            return _value(LABELS[match.field], match, negated)
        if match.field in REQUEST_KEYS:
            key = REQUEST_KEYS[match.field]
            name = self._extract(key, f"devpush_{key}")
            if negated:
                return f"({_is_request(True)} or {_value(name, match, True)})"
            return f"({_is_request(False)} and {_value(name, match, False)})"
        path = match.json_field
        if path is None or not JSON_FIELD.fullmatch(path):
            raise ValueError(f"unknown field {match.field!r}")  # the parser lets none through
        known = [name for name, known_path in self.json.items() if known_path == path]
        json_names = [name for name in known if name.startswith("devpush_json_")]
        name = (
            json_names[0] if json_names else self._extract(path, f"devpush_json_{len(self.json)}")
        )
        return _value(name, match, negated)


def _is_request(negated: bool) -> str:
    return _exact(SOURCE_LABEL, REQUEST_SOURCE, negated)


def _exact(name: str, value: str, negated: bool) -> str:
    return f"{name}{'!=' if negated else '='}{quoted_value(value)}"


def _regex(name: str, pattern: str, negated: bool) -> str:
    return f"{name}{'!~' if negated else '=~'}{quoted_value(pattern)}"


def _value(name: str, match: FieldMatch, negated: bool) -> str:
    if match.wildcard:
        return _regex(name, glob_regex(match.value), negated)
    return _exact(name, match.value, negated)
