"""Text from the server, made safe for an operator's terminal.

rich passes raw escape bytes through, and ``Text.from_ansi`` keeps OSC 8 hyperlinks, so a
log line could show one address and link to another, retitle the window or move the cursor.
Only colours (SGR, ``ESC [ … m``) survive here; every other escape sequence and control
character is dropped before rich sees the text, and nothing is read as rich markup.
"""

from __future__ import annotations

import re
from typing import Final

from rich.text import Text

# ECMA-48, 7- and 8-bit forms: CSI (ESC [ or 0x9b) params intermediates final; OSC, DCS,
# SOS, PM and APC strings up to BEL or ST (or to the end when unterminated); any other
# ESC + one byte. The CSI group is kept when it is SGR (final "m") with plain parameters.
_SEQUENCE: Final = re.compile(
    r"(?:\x1b\[|\x9b)([0-?]*)([ -/]*)([@-~])"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)"
    r"|\x1b[ -/]*[0-~]?",
    re.DOTALL,
)
# C0 controls but tab and newline, DEL and C1 controls (a lone 8-bit byte is a control too).
_CONTROL: Final = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
_ANY: Final = re.compile(f"{_SEQUENCE.pattern}|{_CONTROL}", re.DOTALL)
_SGR_PARAMS: Final = re.compile(r"[0-9;:]*")


def _keep_colour(match: re.Match[str]) -> str:
    params, intermediates, final = match.group(1, 2, 3)
    if final == "m" and not intermediates and _SGR_PARAMS.fullmatch(params or ""):
        return f"\x1b[{params}m"
    return ""


def colours_only(line: str) -> str:
    """``line`` with its SGR colour codes and no other escape sequence or control character."""
    return _ANY.sub(_keep_colour, line)


def plain(text: str) -> str:
    """``text`` without any escape sequence or control character (tabs and newlines stay)."""
    return _ANY.sub("", text)


def coloured(line: str) -> Text:
    """A log line for the terminal: its colours rendered, nothing else interpreted."""
    return Text.from_ansi(colours_only(line))


def safe(text: object, style: str = "") -> Text:
    """Server-provided text shown as it reads: no escapes, no rich markup."""
    return Text(plain(str(text)), style=style)
