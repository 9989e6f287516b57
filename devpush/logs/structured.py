"""Read a structured log line: a JSON object's level, message and other fields.

A line is structured when it is one JSON object (whitespace around it allowed), at most
``MAX_CHARS`` long and nested at most ``MAX_DEPTH`` deep. Hostile input never raises:
invalid JSON, ``NaN``/``Infinity``, over-deep nesting or an over-long line make the line
plain text. Duplicate keys: the last value wins (as ``JSON.parse`` does). Numbers too big
for a float (``1e999``) or for ``int()`` are kept as their text, so the fields always
encode back to valid JSON. Lone surrogates (``"\\ud800"``) become U+FFFD.

The level value here is the line's own (``"warn"``, ``40``); ``devpush.logs.levels`` maps
it onto devpush's levels, so the level filter and the row agree.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Final, TypeAlias

from devpush.logs.entries import clean_text

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"

#: The longest line read as JSON: the collector's own line limit (256 KiB).
MAX_CHARS: Final = 262_144
#: The deepest nesting read as JSON: deeper lines are text, whatever the stack depth
#: of the caller (the parser recurses, so a fixed bound keeps the answer the same).
MAX_DEPTH: Final = 64
#: Keys naming the level, most preferred first (compared without case).
LEVEL_KEYS: Final = ("level", "lvl", "severity", "loglevel", "log_level")
#: Keys naming the message, most preferred first (compared without case).
MESSAGE_KEYS: Final = ("msg", "message")

_STRINGS: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS: Final = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP: Final = {"{": 1, "[": 1, "}": -1, "]": -1}
_MAX_INT_DIGITS: Final = 4000  # below int()'s 4300-digit guard


@dataclass(frozen=True, slots=True)
class StructuredLine:
    """A JSON log line: the whole object, and what was read from it."""

    object: Mapping[str, JsonValue]  # every member, in the line's order
    level_key: str | None  # the member read as the level, as the line spells it
    message_key: str | None  # the member read as the message (a string)

    @property
    def level(self) -> str | int | float | None:
        """The level as the line writes it (``"warn"``, ``40``), or None."""
        value = self.object[self.level_key] if self.level_key is not None else None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None
        return value

    @property
    def message(self) -> str | None:
        value = self.object[self.message_key] if self.message_key is not None else None
        return value if isinstance(value, str) else None

    @property
    def fields(self) -> dict[str, JsonValue]:
        """The members other than the level and the message, in the line's order."""
        read = {self.level_key, self.message_key}
        return {key: value for key, value in self.object.items() if key not in read}

    def pretty(self) -> str:
        """The object indented, members in the line's order, non-ASCII kept as is."""
        return json.dumps(self.object, indent=2, ensure_ascii=False)


def parse_structured(line: str | bytes, *, max_chars: int = MAX_CHARS) -> StructuredLine | None:
    """The line as a JSON object, or None when it is not one (or too long or too deep)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    if len(line) > max_chars:
        return None
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")) or _too_deep(text):
        return None
    try:
        value = json.loads(
            text,
            object_pairs_hook=dict,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_refuse,
        )
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    if "\\u" in text or clean_text(text) != text:
        value = _cleaned(value)
    return StructuredLine(
        object=value,
        level_key=_pick(value, LEVEL_KEYS, lambda v: isinstance(v, str | int | float)),
        message_key=_pick(value, MESSAGE_KEYS, lambda v: isinstance(v, str)),
    )


def _too_deep(text: str) -> bool:
    if text.count("{") + text.count("[") <= MAX_DEPTH:
        return False  # cannot nest deeper than its brackets
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH


def _int(text: str) -> int | str:
    return int(text) if len(text) <= _MAX_INT_DIGITS else text


def _float(text: str) -> float | str:
    number = float(text)
    return number if math.isfinite(number) else text


def _refuse(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _cleaned(value: JsonValue) -> JsonValue:
    """``value`` with every lone surrogate, in keys and strings, made U+FFFD."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(key): _cleaned(item) for key, item in value.items()}
    return value


def _pick(
    members: Mapping[str, JsonValue], names: tuple[str, ...], fits: Callable[[JsonValue], bool]
) -> str | None:
    """The key among ``names`` (any case, the earliest name first) whose value fits."""
    best: tuple[int, str] | None = None
    for key, value in members.items():
        lowered = key.lower()
        if lowered in names and not isinstance(value, bool) and fits(value):
            rank = names.index(lowered)
            if best is None or rank < best[0]:
                best = (rank, key)
    return best[1] if best is not None else None
