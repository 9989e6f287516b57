"""The typed tree of a log query: what the parser builds and each store's compiler reads.

Every node is a frozen value; field names are the language's own (``FIELDS``), never
stored names, so a compiler maps each through its fixed table. ``json.<field>`` names are
checked against :data:`JSON_FIELD` by the parser before a node holds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

#: Fields matched against a line's labels (exact, or ``*`` wildcards).
LABEL_FIELDS: Final = ("deployment", "environment", "branch", "stream", "source")
#: Fields of a request entry (text), matched with ``*`` wildcards.
REQUEST_TEXT_FIELDS: Final = ("method", "path", "host", "client", "user_agent")
#: Fields compared as numbers: a request's status and its duration (in milliseconds).
NUMERIC_FIELDS: Final = ("status", "duration")
#: Every field name the language knows besides ``json.<field>``.
FIELDS: Final = ("level", *LABEL_FIELDS, *NUMERIC_FIELDS, *REQUEST_TEXT_FIELDS)
#: A ``json.<field>`` name (after ``json.``): dotted identifiers, nothing a store parses.
JSON_FIELD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,7}")
JSON_PREFIX: Final = "json."

CompareOp = Literal[">=", ">", "<", "<=", "="]


@dataclass(frozen=True, slots=True)
class Text:
    """A case-insensitive substring of the line."""

    text: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """``"exact phrase"``: a substring of the line, case and spaces as written."""

    text: str


@dataclass(frozen=True, slots=True)
class Regex:
    """``/pattern/``: an RE2 pattern (validated), unanchored, over the line."""

    pattern: str


@dataclass(frozen=True, slots=True)
class FieldMatch:
    """``field:value``; ``*`` in ``value`` matches any run of characters when ``wildcard``.

    ``field`` is one of :data:`FIELDS` or ``json.<name>``; ``level`` values are levels,
    ``stream`` and ``source`` values are checked by the parser.
    """

    field: str
    value: str
    wildcard: bool = False

    @property
    def json_field(self) -> str | None:
        """The JSON key path of a ``json.<field>`` match, else None."""
        return self.field.removeprefix(JSON_PREFIX) if self.field.startswith(JSON_PREFIX) else None


@dataclass(frozen=True, slots=True)
class Compare:
    """``status:>=500``, ``duration:>1s``: a number compared; a duration is in ms."""

    field: Literal["status", "duration"]
    op: CompareOp
    value: float


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


Expr = Text | Phrase | Regex | FieldMatch | Compare | Not | And | Or


def walk(expr: Expr) -> list[Expr]:
    """Every node of ``expr``, parents before children (iterative: no recursion limit)."""
    out: list[Expr] = []
    todo: list[Expr] = [expr]
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, And | Or):
            todo.extend(reversed(node.items))
        elif isinstance(node, Not):
            todo.append(node.item)
    return out


def json_fields(expr: Expr) -> list[str]:
    """The ``json.<field>`` key paths ``expr`` names, each once, in order of appearance."""
    seen: dict[str, None] = {}
    for node in walk(expr):
        if isinstance(node, FieldMatch) and node.json_field is not None:
            seen.setdefault(node.json_field)
    return list(seen)
