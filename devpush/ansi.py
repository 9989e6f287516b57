"""Escape sequences and control characters in terminal text: the one tokenizer.

The web's log rows (``devpush/logs/render.py``) and the CLI (``devpush/cli/terminal.py``)
both read lines with it. The standard library only, and nothing else of devpush: the CLI
installs without the server's packages (``tests/test_layers.py``).
"""

from __future__ import annotations

import re
from typing import Final

#: One token (ECMA-48, 7- and 8-bit forms): a CSI sequence (ESC [ or 0x9b, parameters,
#: intermediates, a final byte, absent when the line ends first); an OSC, DCS, SOS, PM or
#: APC string up to BEL or ST (or the end when unterminated); any other ESC + one byte; a
#: lone control character (C0 but tab and newline, DEL, C1).
TOKEN: Final = re.compile(
    r"(?:\x1b\[|\x9b)(?P<params>[0-?]*)(?P<inter>[ -/]*)(?P<final>[@-~]?)"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]",
    re.DOTALL,
)
_SGR_PARAMS: Final = re.compile(r"[0-9;:]*")


def sgr_params(token: re.Match[str]) -> str | None:
    """The parameters of a colour token (SGR, ``ESC [ … m`` with plain parameters), or None
    for any other token (private-mode parameters ``<=>?`` are not SGR)."""
    params, inter, final = token.group("params", "inter", "final")
    if final == "m" and not inter and _SGR_PARAMS.fullmatch(params):
        return str(params)
    return None
