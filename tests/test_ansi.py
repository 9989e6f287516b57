"""devpush/ansi.py: one tokenizer, so the web's rows and the CLI show the same text."""

from __future__ import annotations

import pytest

from devpush.ansi import TOKEN, sgr_params
from devpush.cli.terminal import colours_only, plain
from devpush.logs.render import render_line
from tests.logs.hostile import HOSTILE

#: Besides the template tests' hostile lines: the cases only a tokenizer meets.
TOKENIZER_CASES = {
    "colours": "\x1b[1;31mred\x1b[0m and \x1b[38:5:208mo\x1b[m, \x9b2Jcleared, \x1b[?25l hidden",
    "unterminated string": "unterminated \x1b]2;title",
    "cut sequence": "cut at the end \x1b[1",
    "controls": "c1\x85 del\x7f tab\tstays",
}


@pytest.mark.parametrize("line", [*HOSTILE, *TOKENIZER_CASES.values()])
def test_the_web_and_the_cli_show_the_same_text(line: str) -> None:
    assert render_line(line, max_chars=1000).text == plain(line)


def test_only_plain_sgr_tokens_are_colours() -> None:
    params = [sgr_params(t) for t in TOKEN.finditer("\x1b[1;31m\x1b[?25m\x1b[2J\x1b[ m\x1b[m")]
    assert params == ["1;31", None, None, None, ""]
    assert colours_only("\x1b[1;31mred\x1b[2J\x1b]0;t\x07") == "\x1b[1;31mred"
