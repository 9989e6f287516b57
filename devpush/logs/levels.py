"""Detect the level of a log line from the formats deployments commonly print.

Each pattern is written in the common subset of Python ``re`` and RE2 (Go ``regexp``,
which Loki uses), so the same text serves two jobs: :func:`detect_level` in Python,
and :func:`level_filter_regex`, a Loki line filter that returns a superset of the
lines of one level (the service then keeps those :func:`detect_level` agrees with).
Common-subset rules: no lookarounds or backreferences, ``[ \\t]`` rather than ``\\s``
(RE2's ``\\s`` lacks ``\\v``), ``\\b`` under ``re.ASCII`` (RE2's is ASCII-only).

A line with no marker has no level: the stream (stderr) says nothing about it,
since many tools print their normal progress to stderr.

A structured (JSON) line's own level member (``devpush.logs.structured``) wins over
everything else, as long as the line spells it so the level's field pattern matches it
(not ``"\\u0065rror"``): the Loki/LogsQL filter stays a superset of the level's lines.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final, Literal, get_args

from devpush.logs.structured import StructuredLine, parse_structured

Level = Literal["error", "warning", "info", "debug"]
LEVELS: Final[tuple[Level, ...]] = get_args(Level)

_WORDS: Final[dict[Level, str]] = {
    "error": "ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|EMERG|EMERGENCY|ALERT|SEVERE",
    "warning": "WARNING|WARN",
    "info": "INFO|INFORMATION|NOTICE",
    "debug": "DEBUG|DBG|TRACE",
}
# pino and bunyan write numeric levels.
_NUMERIC: Final[dict[Level, str]] = {
    "error": "50|60",
    "warning": "40",
    "info": "30",
    "debug": "10|20",
}
# glog/klog lines start with the level letter and MMDD hh:mm:ss.
_KLOG_LETTER: Final[dict[Level, str]] = {"error": "[EF]", "warning": "W", "info": "I", "debug": "D"}
_KEYS: Final = "(?i:level|lvl|severity|loglevel|log_level)"


def _field_patterns(level: Level) -> list[str]:
    """Tier 1: an explicit level field (JSON or logfmt) wins over words in the message."""
    words = _WORDS[level]
    return [
        rf'"{_KEYS}"[ \t]*:[ \t]*"(?i:{words})"',
        rf'"{_KEYS}"[ \t]*:[ \t]*(?:{_NUMERIC[level]})\b',
        rf'\b{_KEYS}="?(?i:{words})\b',
    ]


def _marker_patterns(level: Level) -> list[str]:
    """Tier 2: prefixes and tokens; the earliest in the line wins."""
    words = _WORDS[level]
    patterns = [
        rf"\[(?i:{words})\]",
        rf"^{_KLOG_LETTER[level]}[0-9]{{4}} [0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}",
        # Upper case only: a bare lower-case "error" is too often just a word in a message.
        # This also covers Python logging's "WARNING:root:..." and "ERROR:name:...".
        # A colour code glued to the word ("\x1b[31mERROR") stands where \b would.
        rf"(?:\b|\x1b\[[0-9;]*m)(?:{words})\b",
    ]
    if level == "error":
        patterns += [
            r"\bnpm (?:ERR!|error)",
            r"^Traceback \(most recent call last\):",
            r"^panic: ",
        ]
    elif level == "warning":
        patterns.append(r"\bnpm (?:WARN|warn)\b")
    elif level == "info":
        patterns.append(r"\bnpm notice\b")
    return patterns


def _named_union(tier: list[tuple[Level, list[str]]]) -> re.Pattern[str]:
    # Alternation order breaks ties at one position: more severe first.
    return re.compile(
        "|".join(f"(?P<{level}>{'|'.join(patterns)})" for level, patterns in tier), re.ASCII
    )


_FIELDS: Final[dict[Level, re.Pattern[str]]] = {
    level: re.compile("|".join(_field_patterns(level)), re.ASCII) for level in LEVELS
}
_BY_WORD: Final[dict[str, Level]] = {
    word.lower(): level for level in LEVELS for word in _WORDS[level].split("|")
}
_BY_NUMBER: Final[dict[int, Level]] = {
    int(number): level for level in LEVELS for number in _NUMERIC[level].split("|")
}

_TIERS: Final = (
    _named_union([(level, _field_patterns(level)) for level in LEVELS]),
    _named_union([(level, _marker_patterns(level)) for level in LEVELS]),
)


def detect_level(line: str) -> Level | None:
    """The level of ``line``, or None when it carries no recognised marker.

    >>> detect_level('{"msg":"ERROR while retrying","level":"info"}')
    'info'
    >>> detect_level("npm ERR! code ELIFECYCLE")
    'error'
    """
    return line_level(line, parse_structured(line))


def line_level(line: str, structured: StructuredLine | None) -> Level | None:
    """:func:`detect_level` for a line already read with ``parse_structured``."""
    if structured is not None:
        level = structured_level(structured.level)
        if level is not None and _FIELDS[level].search(line):
            return level
    for tier in _TIERS:
        match = tier.search(line)
        if match is not None:
            return match.lastgroup  # type: ignore[return-value]
    return None


def structured_level(value: str | int | float | None) -> Level | None:
    """devpush's level for a JSON level value: a level word, or a pino/bunyan number."""
    if isinstance(value, str):
        return _BY_WORD.get(value.strip().lower())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _BY_NUMBER.get(value) if isinstance(value, int) else None


@cache
def level_filter_regex(level: Level) -> str:
    """An RE2 pattern matching every line :func:`detect_level` gives ``level`` (and maybe more)."""
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; expected one of {', '.join(LEVELS)}")
    return "|".join(_field_patterns(level) + _marker_patterns(level))
