"""Queries for the fuzz test: made from the grammar's pieces, and hostile text.

Seeded, so a failure names a query that can be run again. Hostile pieces try to close a
string or a group early, add a stream filter or a pipe, or smuggle bytes a store would
read differently (quotes, backslashes, newlines, NUL, surrogates, RTL marks, braces).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from devpush.logs.qlang.ast import FIELDS

HOSTILE = [
    '"',
    '\\"',
    "\\",
    "}",
    "{",
    ")",
    "(",
    "|",
    "||",
    " or ",
    " OR ",
    "*",
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\ud800",
    "\u202e",
    "\u2028",
    "\x1b[31m",
    "é",
    "日本",
    "🙂",
    "`",
    "'",
    "$",
    "~",
    "!",
    "-",
    "=",
    ":",
    "/",
    "//",
    "\\/",
    "${x}",
    "{{ __line__ }}",
    '_stream:{project_id="B"}',
    '"} or _stream:{project_id="B"} or {"',
    '") or project_id:="B" or ("',
    "| delete",
    '| filter project_id:="B"',
    '{project_id="B"}',
    '"} or {project_id=~".+"',
    "project_id:B",
    "json.project_id:B",
    "json._stream:x",
    "json.a..b:1",
    "json.:x",
    "(?i)",
    "\\C",
    "(?P<x>a)",
    "a{1001}",
    "[[:alpha:]]",
    "\\Q",
    "\\x{110000}",
    "%00",
    "%22",
    "NOT",
    "AND",
    "OR",
    "-",
    "--",
    "- -",
]
WORDS = ["error", "timeout", "GET", "health", "api", "user", "x", "500", "ok", "é", "a-b", "a.b"]
VALUES = [
    "stdout",
    "stderr",
    "request",
    "error",
    "warning",
    "info",
    "debug",
    "GET",
    "post",
    "/health*",
    "/api/*/users",
    "*",
    "**",
    "main",
    "feature/x",
    "production",
    "203.0.113.*",
    "dep-*",
    "abc",
    '"quoted value"',
    '"with \\" quote"',
    '"a\\\\b"',
    "500",
    "5xx",
    "4XX",
    ">=500",
    "<400",
    ">1s",
    ">=250ms",
    "<=2m",
    "=1.5",
    "1.5s",
    ">abc",
    "9999999999",
    "1e9",
    "",
]
REGEXES = ["/err(or)?/", "/^GET /", "/a|b/", "/[0-9]{3}/", "/(/", "/a\\/b/", "/\\C/", "/x*/", "/./"]


def _field(rng: random.Random) -> str:
    name = rng.choice([*FIELDS, "json.user.id", "json.level", "json.msg", "JSON.a", "Status"])
    return f"{name}:{rng.choice(VALUES + HOSTILE)}"


def _term(rng: random.Random, depth: int) -> str:
    kind = rng.random()
    if kind < 0.25:
        return rng.choice(WORDS)
    if kind < 0.45:
        return _field(rng)
    if kind < 0.55:
        return '"' + " ".join(rng.choice(WORDS + HOSTILE) for _ in range(rng.randint(1, 3))) + '"'
    if kind < 0.62:
        return rng.choice(REGEXES)
    if kind < 0.72:
        return "-" + _term(rng, depth)
    if kind < 0.78:
        return "NOT " + _term(rng, depth)
    if kind < 0.88 and depth < 20:
        return "(" + _query(rng, depth + 1) + ")"
    return rng.choice(HOSTILE) + rng.choice(WORDS)


def _query(rng: random.Random, depth: int = 0) -> str:
    terms = [_term(rng, depth) for _ in range(rng.randint(1, 4))]
    out = terms[0]
    for term in terms[1:]:
        out += rng.choice([" ", " ", " OR ", " AND ", ""]) + term
    return out


def _mangled(rng: random.Random) -> str:
    """A grammatical query with characters dropped, doubled or replaced by hostile ones."""
    chars = list(_query(rng))
    for _ in range(rng.randint(1, 4)):
        if not chars:
            break
        at = rng.randrange(len(chars))
        action = rng.random()
        if action < 0.4:
            del chars[at]
        elif action < 0.7:
            chars.insert(at, rng.choice(HOSTILE))
        else:
            chars[at] = chars[at] * 2
    return "".join(chars)


def queries(count: int, *, seed: int = 19) -> Iterator[str]:
    rng = random.Random(seed)
    fixed = [
        "",
        " ",
        "(" * 200 + "a" + ")" * 200,
        "-" * 50 + "a",
        "NOT " * 40 + "a",
        "a " * 600,
        "x" * 5000,
        " OR ".join(["a"] * 60),
        *HOSTILE,
    ]
    yield from fixed
    for _ in range(count - len(fixed)):
        pick = rng.random()
        if pick < 0.55:
            yield _query(rng)
        elif pick < 0.85:
            yield _mangled(rng)
        else:
            yield "".join(rng.choice(HOSTILE + WORDS + VALUES) for _ in range(rng.randint(1, 12)))
