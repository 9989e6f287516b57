"""Text from the server, made safe for an operator's terminal.

rich passes raw escape bytes through, and ``Text.from_ansi`` keeps OSC 8 hyperlinks, so a
log line could show one address and link to another, retitle the window or move the cursor.
Only colours (SGR, ``ESC [ … m``) survive here; every other escape sequence and control
character is dropped before rich sees the text, and nothing is read as rich markup.
"""

from __future__ import annotations

import re

from rich.text import Text

from devpush.ansi import TOKEN, sgr_params


def _keep_colour(token: re.Match[str]) -> str:
    params = sgr_params(token)
    return "" if params is None else f"\x1b[{params}m"


def colours_only(line: str) -> str:
    """``line`` with its SGR colour codes and no other escape sequence or control character."""
    return TOKEN.sub(_keep_colour, line)


def plain(text: str) -> str:
    """``text`` without any escape sequence or control character (tabs and newlines stay)."""
    return TOKEN.sub("", text)


def coloured(line: str) -> Text:
    """A log line for the terminal: its colours rendered, nothing else interpreted."""
    return Text.from_ansi(colours_only(line))


def safe(text: object, style: str = "") -> Text:
    """Server-provided text shown as it reads: no escapes, no rich markup."""
    return Text(plain(str(text)), style=style)
