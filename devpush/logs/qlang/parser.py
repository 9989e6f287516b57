"""``parse(text) -> Expr``: the query language's text to its typed tree, or a column error.

Lark does the grammar (``grammar.py``); this module turns its tree into ``ast`` nodes,
checks what the grammar can't say (a field's values, a regex, the limits) and words every
failure as ``column N: …`` (1-based), raised as :class:`QuerySyntaxError` (a 400).
"""

from __future__ import annotations

import math
import re
from itertools import pairwise
from typing import Final, NoReturn, cast

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from devpush.core.labels import LOG_SOURCES, LOG_STREAMS
from devpush.logs.errors import InvalidSearch
from devpush.logs.levels import LEVELS
from devpush.logs.qlang.ast import (
    JSON_FIELD,
    JSON_PREFIX,
    NUMERIC_FIELDS,
    And,
    Compare,
    CompareOp,
    Expr,
    FieldMatch,
    Not,
    Or,
    Phrase,
    Regex,
    Text,
)
from devpush.logs.qlang.grammar import MAX_DEPTH, MAX_QUERY_CHARS, MAX_TERMS, PARSER
from devpush.logs.query import validate_regex


class QuerySyntaxError(InvalidSearch):
    """The query text is not the language (a 400); the message starts with the column."""

    http_status = 400

    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column
        self.reason = message


_STATUS: Final = re.compile(r"[1-5][0-9]{2}")
_STATUS_CLASS: Final = re.compile(r"([1-5])xx", re.IGNORECASE)
_DURATION: Final = re.compile(r"([0-9]{1,9}(?:\.[0-9]{1,6})?)(ms|s|m)?")
_DURATION_MS: Final = {"ms": 1.0, "s": 1000.0, "m": 60_000.0}
_TOKEN_NAMES: Final = {
    "RPAR": "')'",
    "LPAR": "'('",
    "FIELD": "a field",
    "VALUE": "a value",
    "WORD": "a word",
    "QUOTED": "a quoted phrase",
    "REGEX": "a /regex/",
    "MINUS": "'-'",
    "NOT": "NOT",
    "_OR": "OR",
    "_AND": "AND",
    "OP": "a comparison",
    "$END": "the end of the query",
}


def parse(text: str) -> Expr:
    """The tree of ``text``; raises :class:`QuerySyntaxError` naming the column at fault."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            MAX_QUERY_CHARS + 1, f"the query is longer than {MAX_QUERY_CHARS} characters"
        )
    for index, char in enumerate(text):
        if 0xD800 <= ord(char) <= 0xDFFF or char == "\x00":
            raise QuerySyntaxError(index + 1, "the query holds a character that is not text")
    if not text.strip():
        raise QuerySyntaxError(1, "the query is empty")
    try:
        tree = PARSER.parse(text)
    except UnexpectedInput as exc:
        _syntax_error(text, exc)
    _check_shape(tree)
    return _build(cast("Tree[Token]", tree.children[0]), text)


def _syntax_error(text: str, exc: UnexpectedInput) -> NoReturn:
    if isinstance(exc, UnexpectedCharacters):
        column = exc.column
        char = text[cast(int, exc.pos_in_stream)]
        if char == '"':
            raise QuerySyntaxError(column, 'this quote is never closed (add a closing ")')
        if char == "-":  # pragma: no cover - the root lexer reads a lone '-' as a value
            raise QuerySyntaxError(column, "expected a term right after '-' (no space)")
        if char == ")":
            raise QuerySyntaxError(column, "')' closes no '('")
        raise QuerySyntaxError(column, f"unexpected {char!r}")
    if isinstance(exc, UnexpectedToken | UnexpectedEOF):
        token = exc.token
        at_end = token.type == "$END"
        column = len(text) + 1 if at_end else cast(int, token.column)
        previous = _token_before(text, column)
        if previous is not None and previous.type == "FIELD":
            raise QuerySyntaxError(column, f"expected a value after {previous.value.lower()!r}")
        if previous is not None and previous.type == "OP":
            raise QuerySyntaxError(column, f"expected a number after {previous.value!r}")
        expected = sorted({_TOKEN_NAMES.get(name, name) for name in exc.expected or ()})
        found = "the end of the query" if at_end else repr(str(token.value))
        if not at_end and str(token.value).startswith("-") and token.type != "MINUS":
            raise QuerySyntaxError(column, "expected a term right after '-' (no space)")
        if "')'" in expected and at_end:
            raise QuerySyntaxError(column, "expected ')' to close a '('")
        if previous is not None and previous.type == "LPAR":
            raise QuerySyntaxError(column, f"expected a term after '(', found {found}")
        if previous is not None and previous.type in {"_OR", "_AND", "NOT"}:
            raise QuerySyntaxError(column, f"expected a term after {previous.value}, found {found}")
        if token.type == "RPAR":
            raise QuerySyntaxError(column, "')' closes no '(' or ends an empty group")
        raise QuerySyntaxError(column, f"unexpected {found}")
    raise QuerySyntaxError(1, "the query could not be read")  # pragma: no cover


def _token_before(text: str, column: int) -> Token | None:
    """The last token that ends before ``column`` (the lexer alone: the parse failed)."""
    last = None
    try:
        for token in PARSER.lex(text[: column - 1]):
            last = token
    except UnexpectedInput:
        return None
    return last


def _check_shape(tree: Tree[Token]) -> None:
    """The depth and term limits, checked iteratively before any recursion."""
    terms = 0
    todo: list[tuple[Tree[Token] | Token, int]] = [(tree, 0)]
    while todo:
        node, depth = todo.pop()
        if not isinstance(node, Tree):
            continue
        if node.data in {"group", "negated"}:
            depth += 1
            if depth > MAX_DEPTH:
                raise QuerySyntaxError(
                    _column(node), f"the query nests deeper than {MAX_DEPTH} levels"
                )
        elif node.data in {"text", "phrase", "regex", "field"}:
            terms += 1
            if terms > MAX_TERMS:
                raise QuerySyntaxError(_column(node), f"the query has more than {MAX_TERMS} terms")
        todo.extend((child, depth) for child in node.children)


def _column(node: Tree[Token]) -> int:
    return cast(int, getattr(node.meta, "column", 1))


def _build(node: Tree[Token] | Token, text: str) -> Expr:
    if isinstance(node, Token):  # pragma: no cover - the grammar wraps every token
        raise QuerySyntaxError(node.column or 1, f"unexpected {node.value!r}")
    kind, children = node.data, node.children
    if kind == "or_expr":
        return Or(tuple(_build(child, text) for child in children))
    if kind == "and_expr":
        return And(tuple(_build(child, text) for child in children))
    if kind == "group":
        return _build(children[1], text)
    if kind == "negated":
        return Not(_build(children[1], text))
    token = cast(Token, children[0])
    if kind == "text":
        return Text(token.value)
    if kind == "phrase":
        if token.value == '""':
            raise QuerySyntaxError(cast(int, token.column), "expected text between the quotes")
        return Phrase(_unquote(token))
    if kind == "regex":
        return _regex(token)
    if kind == "field":
        return _field(node)
    raise QuerySyntaxError(_column(node), f"unexpected {kind}")  # pragma: no cover


def _unquote(token: Token) -> str:
    """A quoted phrase's text: ``\\"`` and ``\\\\`` are escapes, any other ``\\`` stays."""
    body = token.value[1:-1]
    return re.sub(r'\\(["\\])', r"\1", body)


def _regex(token: Token) -> Regex:
    pattern = token.value[1:-1].replace("\\/", "/")
    try:
        validate_regex(pattern)
    except InvalidSearch as exc:
        raise QuerySyntaxError(cast(int, token.column), exc.message) from exc
    return Regex(pattern)


def _field(node: Tree[Token]) -> Expr:
    tokens = [cast(Token, child) for child in node.children]
    name_token, value_token = tokens[0], tokens[-1]
    op_token = tokens[1] if len(tokens) == 3 else None
    field = name_token.value[:-1]
    lowered = field.lower()
    if lowered.startswith(JSON_PREFIX):
        field = JSON_PREFIX + field[len(JSON_PREFIX) :]
        if not JSON_FIELD.fullmatch(field[len(JSON_PREFIX) :]):
            raise QuerySyntaxError(
                cast(int, name_token.column),
                f"{field!r} is not a JSON field name (letters, digits, _ and dots)",
            )
    else:
        field = lowered
    label = f"'{field}:'"
    # The value touches the colon and the operator: "status: 500" is two terms.
    for first, second in pairwise([name_token, *([op_token] if op_token else []), value_token]):
        if first.end_pos != second.start_pos:
            raise QuerySyntaxError(cast(int, first.end_column), f"expected a value after {label}")
    column = cast(int, value_token.column)
    quoted = value_token.type == "QUOTED"
    value = _unquote(value_token) if quoted else value_token.value
    op = cast("CompareOp | None", op_token.value if op_token is not None else None)
    if field in NUMERIC_FIELDS:
        return _numeric(field, op, value, column)
    if op is not None and op != "=":
        raise QuerySyntaxError(
            cast(int, op_token.column if op_token else column),
            f"{op} compares numbers: only status: and duration: take it",
        )
    if not value:
        raise QuerySyntaxError(column, f"expected a value after {label}")
    wildcard = not quoted and op is None and "*" in value
    if field == "level":
        if value.lower() not in LEVELS:
            raise QuerySyntaxError(column, f"level is one of {', '.join(LEVELS)}")
        return FieldMatch("level", value.lower())
    if field in {"stream", "source"} and not wildcard:
        allowed = LOG_STREAMS if field == "stream" else LOG_SOURCES
        if value.lower() not in allowed:
            raise QuerySyntaxError(column, f"{field} is one of {', '.join(allowed)}")
        value = value.lower()
    if field == "method":
        value = value.upper()
    if field == "deployment" and not quoted and op is None and not wildcard:
        value, wildcard = value + "*", True  # an id or any prefix of one
    return FieldMatch(field, value, wildcard)


def _numeric(field: str, op: CompareOp | None, value: str, column: int) -> Expr:
    if field == "status":
        klass = _STATUS_CLASS.fullmatch(value)
        if op is None and klass is not None:
            low = float(klass.group(1)) * 100
            return And((Compare("status", ">=", low), Compare("status", "<", low + 100.0)))
        if not _STATUS.fullmatch(value):
            raise QuerySyntaxError(column, "a status is a number from 100 to 599, or 2xx…5xx")
        return Compare("status", op or "=", float(int(value)))
    match = _DURATION.fullmatch(value)
    if match is None:
        raise QuerySyntaxError(column, "a duration is a number with ms, s or m (250ms, 1.5s, 2m)")
    amount = float(match.group(1)) * _DURATION_MS[match.group(2) or "ms"]
    if not math.isfinite(amount):  # pragma: no cover - the pattern bounds it
        raise QuerySyntaxError(column, "the duration is too large")
    return Compare("duration", op or "=", amount)
