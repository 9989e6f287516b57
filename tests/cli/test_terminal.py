"""What ``devpush`` prints on a terminal: colours, and no other escape sequence."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from devpush.cli import logs as cli_logs
from devpush.cli.terminal import colours_only, plain

# Shows one address, links to another (OSC 8, both terminators).
SPOOF = "docs: \x1b]8;;https://evil.example/x\x1b\\https://docs.example/\x1b]8;;\x1b\\ end"
SPOOF_BEL = "\x1b]8;;https://evil.example/y\x07https://docs.example/\x1b]8;;\x07"


def _terminal_output(monkeypatch: pytest.MonkeyPatch, line: str) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="standard", highlight=False)
    monkeypatch.setattr(cli_logs, "console", console)
    item = {"time": "2025-01-01T00:00:00Z", "deployment_id": "d" * 12, "stream": "stdout"}
    cli_logs._print({**item, "line": line}, as_json=False)
    return out.getvalue()


@pytest.mark.parametrize("line", [SPOOF, SPOOF_BEL])
def test_a_log_line_cannot_disguise_a_link(monkeypatch: pytest.MonkeyPatch, line: str) -> None:
    shown = _terminal_output(monkeypatch, line)
    assert "evil.example" not in shown
    assert "\x1b]" not in shown
    assert "https://docs.example/" in shown


def test_colours_stay_and_every_other_sequence_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    line = (
        "\x1b[31mred\x1b[0m \x1b]0;new title\x07\x1b[2J\x1b[5;5H\x1bPq#0\x1b\\"
        "\x9b2J\x9d8;;https://evil.example/\x9c\x1b7\x1bc\rback\x08space\x07 ok"
    )
    shown = _terminal_output(monkeypatch, line)
    assert re.search(r"\x1b\[[0-9;]*31mred", shown)  # the colour is rendered
    rest = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert not any(ch in rest for ch in "\x1b\x9b\x9d\x9c\x07\x08\r"), repr(shown)
    assert "evil" not in shown and "new title" not in shown
    assert rest.endswith("out red backspace ok\n"), repr(rest)


def test_colours_only_and_plain() -> None:
    assert colours_only("\x1b[1;38;5;208mhot\x1b[m\x1b[?25l") == "\x1b[1;38;5;208mhot\x1b[m"
    assert colours_only("\x1b[31 m bad sgr") == " bad sgr"
    assert plain("\x1b[31mred\x1b[0m\tcol\nnext\x1b]8;;u\x1b\\") == "red\tcol\nnext"
    assert plain("unterminated \x1b]8;;https://evil.example/ rest") == "unterminated "


def test_server_text_is_not_read_as_markup_or_escapes() -> None:
    from devpush.cli.terminal import safe

    out = io.StringIO()
    Console(file=out, force_terminal=True).print(
        safe("[link=https://evil.example/]x[/link]\x1b]0;t\x07")
    )
    assert "\x1b]" not in out.getvalue()
    assert "[link=https://evil.example/]x[/link]" in out.getvalue()
