"""Rendering untrusted log lines to HTML."""

from __future__ import annotations

import random
import re
import time
from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from devpush.core.config import Settings
from devpush.logs.render import render_line

LIMIT = Settings().log_line_max_chars
CLASSES = re.compile(r"ansi-[a-z]+(?:-[0-9]{1,3})?(?: ansi-[a-z]+(?:-[0-9]{1,3})?)*")


class Structure(HTMLParser):
    """Collects tags, attributes and text as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.other.append(data)

    def handle_decl(self, decl: str) -> None:
        self.other.append(decl)

    def unknown_decl(self, data: str) -> None:
        self.other.append(data)

    def handle_pi(self, data: str) -> None:
        self.other.append(data)


def assert_safe(html: Markup, text: str) -> None:
    parser = Structure()
    parser.feed(str(html))
    parser.close()
    assert parser.other == []
    for tag, attrs in parser.tags:
        assert tag == "span"
        assert len(attrs) == 1 and attrs[0][0] == "class"
        assert CLASSES.fullmatch(attrs[0][1] or "")
    assert "".join(parser.text) == text


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "' onmouseover='alert(1)",
        "&lt;already escaped&gt; &amp;",
        "<!-- comment --> <![CDATA[x]]> <?pi?> <!DOCTYPE html>",
        "</span><span class=evil>",
        "\x1b[31m</span><script>x</script>\x1b[0m",
        '\x1b[31;"><script>m after',
        "\x1b]8;;javascript:alert(1)\x1b\\click\x1b]8;;\x1b\\",
    ],
)
def test_html_payloads_are_text(payload: str) -> None:
    result = render_line(payload, max_chars=LIMIT)
    assert "<script" not in result.html and "<img" not in result.html
    assert_safe(result.html, result.text)


def test_exact_escaping_and_sgr() -> None:
    result = render_line("\x1b[1;31m<b>&\"'\x1b[0m plain", max_chars=LIMIT)
    assert result.html == Markup(
        '<span class="ansi-bold ansi-fg-1">&lt;b&gt;&amp;&#34;&#39;</span> plain'
    )
    assert result.text == "<b>&\"' plain"
    assert not result.truncated


@pytest.mark.parametrize(
    ("line", "html"),
    [
        ("\x1b[32mgreen\x1b[39m default", '<span class="ansi-fg-2">green</span> default'),
        ("\x1b[91;104mbright\x1b[m", '<span class="ansi-fg-9 ansi-bg-12">bright</span>'),
        ("\x1b[38;5;208morange", '<span class="ansi-fg-208">orange</span>'),
        ("\x1b[48:5:17mnavy", '<span class="ansi-bg-17">navy</span>'),
        ("\x1b[38;2;255;0;0mred", '<span class="ansi-fg-196">red</span>'),
        ("\x1b[38:2::0:0:255mblue", '<span class="ansi-fg-21">blue</span>'),
        ("\x1b[38;2;128;128;128mgrey", '<span class="ansi-fg-244">grey</span>'),
        (
            "\x1b[1;2;3;4;9mall\x1b[22;23;24;29mnone",
            '<span class="ansi-bold ansi-dim ansi-italic '
            'ansi-strike ansi-underline">all</span>none',
        ),
        ("\x1b[4:3mcurly\x1b[4:0mflat", '<span class="ansi-underline">curly</span>flat'),
        ("\x1b[31;42;7minv", '<span class="ansi-inverse ansi-fg-2 ansi-bg-1">inv</span>'),
        ("\x1b[7mi\x1b[27mo", '<span class="ansi-inverse">i</span>o'),
        ("\x1b[31ma\x1b[31mb", '<span class="ansi-fg-1">ab</span>'),
        ("\x1b[38;5;999mbad\x1b[38;5mshort", "badshort"),
        ("\x1b[58;5;1munderline colour", "underline colour"),
        ("\x9b31m8-bit CSI", '<span class="ansi-fg-1">8-bit CSI</span>'),
        ("\x1b[" + "9" * 5000 + "mhuge", "huge"),
    ],
)
def test_sgr(line: str, html: str) -> None:
    result = render_line(line, max_chars=LIMIT)
    assert result.html == Markup(html)
    assert_safe(result.html, result.text)


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("\x1b]0;window title\x07after", "after"),
        ("\x1b]0;title with ST\x1b\\after", "after"),
        ("\x1b]8;;https://e.x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1bP1$r0m\x1b\\dcs", "dcs"),
        ("\x1b[2K\x1b[1A\x1b[10;20H\x1b[?25lmoves", "moves"),
        ("\x1b(Bcharset \x1b=keypad \x1b7save", "charset keypad save"),
        (
            "tab\tkept, cr\r nul\x00 bell\x07 del\x7f c1\x85 bs\x08",
            "tab\tkept, cr nul bell del c1 bs",
        ),
        ("unterminated osc \x1b]0;rest of line", "unterminated osc "),
        ("cut csi \x1b[31", "cut csi "),
        ("lone esc \x1b", "lone esc "),
    ],
)
def test_other_escapes_and_controls_are_stripped(line: str, text: str) -> None:
    result = render_line(line, max_chars=LIMIT)
    assert result.text == text
    assert "\x1b" not in result.html
    assert_safe(result.html, result.text)


def test_invalid_utf8_and_surrogates_become_replacement_characters() -> None:
    assert (
        render_line(b"ok \xff\xfe \xe2\x82 end", max_chars=LIMIT).text
        == "ok \ufffd\ufffd \ufffd end"
    )
    assert render_line("lone \ud800 surrogate", max_chars=LIMIT).text == "lone \ufffd surrogate"
    str(render_line("lone \udfff", max_chars=LIMIT).html).encode("utf-8")


def test_long_lines_are_cut_by_visible_characters() -> None:
    line = "\x1b[31m" + "a" * 10 + "\x1b[0m"
    assert not render_line(line, max_chars=10).truncated
    result = render_line(line + "b", max_chars=10)
    assert result.truncated and result.text == "a" * 10
    assert result.full_chars == len(line) + 1


def test_one_megabyte_line() -> None:
    line = ("<b>x</b> \x1b[1;31m" + "y" * 100 + "\x1b[0m ") * 9000
    line = line[: 1 << 20]
    started = time.perf_counter()
    cut = render_line(line, max_chars=LIMIT)
    cut_seconds = time.perf_counter() - started
    assert cut.truncated and len(cut.text) == LIMIT
    assert_safe(cut.html, cut.text)
    started = time.perf_counter()
    whole = render_line(line, max_chars=len(line))
    whole_seconds = time.perf_counter() - started
    assert not whole.truncated and whole.full_chars == 1 << 20
    assert_safe(whole.html, whole.text)
    assert cut_seconds < 0.5, cut_seconds
    assert whole_seconds < 5, whole_seconds


def test_random_hostile_lines_stay_safe() -> None:
    rng = random.Random(2024)
    pieces = [
        "<",
        ">",
        "&",
        '"',
        "'",
        "\x1b",
        "[",
        "]",
        "m",
        ";",
        "3",
        "8",
        "5",
        "2",
        "\x07",
        "\\",
        "\x9b",
        "\x9d",
        "\x00",
        "\r",
        "\n",
        "é",
        "\ud800",
        "<script>",
        "</span>",
        "\x1b[",
        "\x1b]",
        "a",
        " ",
        "?",
        ":",
    ]
    for _ in range(2000):
        line = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40)))
        result = render_line(line, max_chars=25)
        assert_safe(result.html, result.text)
        assert "\x1b" not in result.text and "\ud800" not in result.text
        assert len(result.text) <= 25
