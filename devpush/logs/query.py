"""A backend-neutral log query, and the quoting and regex checks every store shares.

Both stores (Loki's LogQL, VictoriaLogs' LogsQL) unquote double-quoted strings with Go's
``strconv.Unquote`` and match regular expressions with Go's ``regexp`` (RE2 syntax), so a
value quoted by :func:`go_quote` reads back as exactly itself in either, and a pattern
that :func:`validate_regex` accepts is accepted by both.

Plain search is a case-insensitive substring: ``(?i)`` + ``QuoteMeta(text)`` with Go's
``regexp.QuoteMeta`` (:func:`re2_quote_meta`). Regex search is validated with the RE2
engine itself (google-re2), plus the one construct Go rejects and C++ RE2 accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, Literal, overload

import re2

from devpush.core.labels import (
    BRANCH_LABEL,
    DEPLOYMENT_LABEL,
    ENVIRONMENT_LABEL,
    LOG_LABELS,
    LOG_SOURCES,
    PROJECT_LABEL,
)
from devpush.logs.errors import InvalidQuery, InvalidSearch
from devpush.logs.levels import LEVELS, Level, level_filter_regex
from devpush.units import SECOND_NS

if TYPE_CHECKING:
    # Only named here: the query language's parser imports this module.
    from devpush.logs.qlang.ast import Expr

Direction = Literal["forward", "backward"]
SearchMode = Literal["plain", "regex"]
#: The source filter: a runner's stream, or ``request`` (the proxy's request entries).
Stream = Literal["stdout", "stderr", "request"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_GO_SIMPLE_ESCAPES: Final = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Go's regexp.QuoteMeta escapes exactly these bytes (regexp/regexp.go, specialBytes).
_RE2_SPECIAL: Final = frozenset("\\.+*?()|[]{}^$")


def go_quote(value: str) -> str:
    """``value`` as a double-quoted Go string that a store unquotes back to exactly ``value``.

    Non-printable characters (controls, NUL, separators, format characters) are written as
    Go escapes so the query stays one readable line; printable non-ASCII stays as UTF-8.
    A lone surrogate has no UTF-8 form and no Go escape: it raises ValueError.

    >>> print(go_quote('a"b\\\\c\\n'))
    "a\\"b\\\\c\\n"
    """
    out = ['"']
    for char in value:
        simple = _GO_SIMPLE_ESCAPES.get(char)
        if simple is not None:
            out.append(simple)
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            if 0xD800 <= code <= 0xDFFF:
                raise ValueError(f"lone surrogate U+{code:04X} can't be sent to the log store")
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def re2_quote_meta(text: str) -> str:
    """Go's ``regexp.QuoteMeta``: a regex matching ``text`` literally.

    Python's ``re.escape`` escapes more (space, ``#``, ``-``, ``&``…); RE2 accepts most of
    those escapes, but matching Go's exact output keeps queries predictable and testable.
    """
    return "".join(f"\\{c}" if c in _RE2_SPECIAL else c for c in text)


_RE2_OPTIONS: Final = re2.Options()
_RE2_OPTIONS.log_errors = False  # errors go to the caller, not to stderr through absl


def validate_regex(pattern: str) -> None:
    """Raise InvalidSearch unless Go's ``regexp`` (RE2 syntax) would accept ``pattern``."""
    _reject_surrogates(pattern)
    try:
        re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise InvalidSearch(f"invalid regular expression: {detail}") from exc
    if _has_any_byte_escape(pattern):
        raise InvalidSearch(r"invalid regular expression: \C (any byte) is not supported")


def _has_any_byte_escape(pattern: str) -> bool:
    # \C is the one escape C++ RE2 accepts and Go's regexp rejects; skip escaped backslashes.
    i = 0
    while i < len(pattern) - 1:
        if pattern[i] == "\\":
            if pattern[i + 1] == "C":
                return True
            i += 2
        else:
            i += 1
    return False


def _reject_surrogates(text: str) -> None:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise InvalidSearch("search text is not valid Unicode (lone surrogate)")


@dataclass(frozen=True, kw_only=True)
class LogQuery:
    """One log query, scoped to a project the server has already authorised.

    Times are timezone-aware datetimes or Unix nanoseconds; ``end`` is exclusive.
    ``limit`` is the page size: the store pages past its own per-query cap.
    """

    project_id: str
    deployment_id: str | None = None
    environment_id: str | None = None
    branch: str | None = None
    stream: Stream | None = None
    level: Level | None = None
    search: str | None = None
    search_mode: SearchMode = "plain"
    start: datetime | int | None = None
    end: datetime | int | None = None
    direction: Direction = "backward"
    limit: int = 100
    #: The query language's tree (``devpush.logs.qlang``), compiled by each store inside
    #: the project scope and ANDed with the fields above.
    expr: Expr | None = None
    fields: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The field filters, in LOG_LABELS order; every value is exact-match.
        labels = {
            PROJECT_LABEL: self.project_id,
            DEPLOYMENT_LABEL: self.deployment_id,
            ENVIRONMENT_LABEL: self.environment_id,
            BRANCH_LABEL: self.branch,
        }
        # An empty value would match streams *without* the label: that widens the query.
        for name, value in labels.items():
            if value is not None and not value:
                raise InvalidQuery(f"{name} must not be empty")
        if not self.project_id:
            raise InvalidQuery("project_id is required")
        if self.stream is not None and self.stream not in LOG_SOURCES:
            raise InvalidQuery(f"stream must be one of {', '.join(LOG_SOURCES)}")
        if self.level is not None and self.level not in LEVELS:
            raise InvalidQuery(f"level must be one of {', '.join(LEVELS)}")
        if self.search_mode not in ("plain", "regex"):
            raise InvalidQuery("search_mode must be 'plain' or 'regex'")
        if self.direction not in ("forward", "backward"):
            raise InvalidQuery("direction must be 'forward' or 'backward'")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise InvalidQuery("limit must be a positive integer")
        start, end = to_ns(self.start), to_ns(self.end)
        if start is not None and end is not None and start >= end:
            raise InvalidQuery("start must be before end")
        ordered = {name: labels[name] for name in LOG_LABELS if labels[name] is not None}
        object.__setattr__(self, "fields", ordered)

    @property
    def start_ns(self) -> int | None:
        return to_ns(self.start)

    @property
    def end_ns(self) -> int | None:
        return to_ns(self.end)


@overload
def to_ns(value: datetime | int) -> int: ...
@overload
def to_ns(value: None) -> None: ...
@overload
def to_ns(value: datetime | int | None) -> int | None: ...
def to_ns(value: datetime | int | None) -> int | None:
    """Unix nanoseconds of an aware datetime (or of an int already in ns)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if not isinstance(value, datetime):
        raise InvalidQuery(f"a time must be a datetime or Unix nanoseconds, not {value!r}")
    if value.tzinfo is None:
        raise InvalidQuery("naive datetime: give a timezone (UTC) so the range is unambiguous")
    delta = value - _EPOCH  # exact integer arithmetic: no float rounding of nanoseconds
    return (delta.days * 86_400 + delta.seconds) * SECOND_NS + delta.microseconds * 1000


def search_regex(query: LogQuery, *, max_chars: int) -> str:
    """The RE2 pattern of the query's search (validated), before it is quoted."""
    text = query.search or ""
    if len(text) > max_chars:
        raise InvalidSearch(f"search text is longer than {max_chars} characters")
    _reject_surrogates(text)
    if query.search_mode == "plain":
        return "(?i)" + re2_quote_meta(text)
    validate_regex(text)
    return text


def line_regexes(query: LogQuery, *, max_search_chars: int) -> list[str]:
    """The RE2 patterns (before they are quoted) a line of ``query`` matches: its search's,
    then its level's, a superset of the level's lines (the backend then keeps those
    ``detect_level`` agrees with)."""
    patterns = []
    if query.search:
        patterns.append(search_regex(query, max_chars=max_search_chars))
    if query.level is not None:
        patterns.append(level_filter_regex(query.level))
    return patterns


def quoted_value(value: str) -> str:
    """A field value for a store filter, quoted; a lone surrogate is a bad query."""
    try:
        return go_quote(value)
    except ValueError as exc:
        raise InvalidQuery(f"filter value is not valid Unicode: {exc}") from exc
