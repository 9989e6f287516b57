"""Structural checks of compiled queries: the project scope is first and nothing escapes it.

Each check splits the text into Go string literals (decoded as Go's ``strconv.Unquote``
would: a literal that would not decode fails the check) and the rest, the syntax devpush
wrote. The syntax must open with the project's stream filter or selector, keep every
user value inside a literal, and use only the words the compiler writes.
"""

from __future__ import annotations

import re

from devpush.core.labels import LOG_LABELS, REQUEST_FIELDS
from devpush.logs.qlang.ast import JSON_FIELD, JSON_PREFIX
from devpush.logs.query import go_quote
from tests.utils.golang import go_unquote


def split_literals(text: str) -> tuple[str, list[str]]:
    """``text`` with each ``"…"`` literal replaced by ``"N"`` (its index), and the decoded
    literals."""
    syntax: list[str] = []
    literals: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != '"':
            syntax.append(char)
            i += 1
            continue
        value, i = _literal(text, i + 1)
        syntax.append(f'"{len(literals)}"')
        literals.append(value)
    return "".join(syntax), literals


def _literal(text: str, i: int) -> tuple[str, int]:
    """The literal that opened before ``i``, decoded, and the index after its closing quote."""
    end = i
    while end < len(text) and text[end] != '"':
        end += 2 if text[end] == "\\" else 1
    if end >= len(text):
        raise AssertionError(f"unterminated string literal in {text!r}")
    try:
        return go_unquote(text[i - 1 : end + 1]), end + 1
    except ValueError as exc:
        raise AssertionError(f"a literal Go would refuse ({exc}) in {text!r}") from exc


_LOGSQL_WORDS = {
    "or", "range", "unpack_json", "from", "_msg", "fields", "result_prefix", "filter",
    "source", "stream",
}  # fmt: skip
_LOGSQL_FIELDS = {*LOG_LABELS, "stream", "source", *REQUEST_FIELDS.values()}
_LOGQL_WORDS = {
    "json", "label_format", "drop", "and", "or", "source", "stream", "deployment_id",
    "environment_id", "branch", "__error__", "__error_details__",
}  # fmt: skip


def _balanced(syntax: str) -> list[int]:
    """The paren depth after each character; never below zero, zero at the end."""
    depth, depths = 0, []
    for char in syntax:
        depth += char == "("
        depth -= char == ")"
        assert depth >= 0, syntax
        depths.append(depth)
    assert depth == 0, syntax
    return depths


def check_logsql(text: str, project_id: str) -> None:
    """``text`` is ``_stream:{project_id=…}`` then filters ANDed to it (or a pipe of them)."""
    scope = f"_stream:{{project_id={go_quote(project_id)}}}"
    assert text.startswith(scope + " ") or text == scope, text
    syntax, literals = split_literals(text[len(scope) :])
    assert "{" not in syntax and "}" not in syntax, text
    depths = _balanced(syntax)
    rest = syntax.strip()
    pipe = re.fullmatch(
        r'\| unpack_json from _msg fields \(([^()|]*)\) result_prefix "([0-9]+)" '
        r"\| filter (\(.*\))",
        rest,
        re.S,
    )
    group = pipe.group(3) if pipe else rest
    offset = len(syntax) - len(syntax.lstrip()) + (pipe.start(3) if pipe else 0)
    # One group after the scope: its parenthesis closes last, so nothing follows at depth 0.
    assert group.startswith("(") and group.endswith(")"), text
    inner = depths[offset : offset + len(group) - 1]
    assert all(depth > 0 for depth in inner), text
    assert "|" not in group, text
    if pipe:
        assert literals[int(pipe.group(2))] == JSON_PREFIX, text
        for index in re.findall(r'"([0-9]+)"', pipe.group(1)):
            assert JSON_FIELD.fullmatch(literals[int(index)]), text
    # A quoted field name is one of the compiler's own, or a checked json.<field>.
    for index in re.findall(r'"([0-9]+)":', syntax):
        name = literals[int(index)]
        assert name in _LOGSQL_FIELDS or (
            name.startswith(JSON_PREFIX) and JSON_FIELD.fullmatch(name[len(JSON_PREFIX) :])
        ), (name, text)
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", syntax)) - _LOGSQL_WORDS
    assert not words, (words, text)


def check_logql(text: str, project_id: str) -> None:
    """``text`` is the project's selector, then pipeline stages written by devpush alone."""
    syntax, literals = split_literals(text)
    selector = re.match(r'\{project_id="0", job="1"(?:, [a-z_]+="[0-9]+")*\}', syntax)
    assert selector is not None, text
    assert literals[0] == project_id and literals[1] == "docker", text
    rest = syntax[selector.end() :]
    assert "{" not in rest and "}" not in rest, text
    depths = _balanced(rest)
    starts = [
        at
        for at in range(1, len(rest))
        if depths[at - 1] == 0 and rest[at - 1] == " " and rest.startswith(("|", "!~"), at)
    ]
    assert rest == "" or starts[:1] == [1], text
    for start, end in zip(starts, [*starts[1:], len(rest)], strict=True):
        stage = rest[start:end]
        assert re.match(r"(\|~ |!~ |\| (json |label_format |drop |\(|[a-z_0-9]+[!=]))", stage), (
            stage,
            text,
        )
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", rest)) - _LOGQL_WORDS
    assert all(re.fullmatch(r"devpush_(line|json_[0-9]+|[a-z_]+)", word) for word in words), (
        words,
        text,
    )
