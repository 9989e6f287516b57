"""The log row macro on hostile entries, rendered directly with the app's Jinja setup.

Only the elements and attributes the macro writes may come out; nothing of a line or
its labels becomes markup, a script or an event handler.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from devpush.logs.entries import LogEntry
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.logs.render import render_line
from devpush.services.logs import log_line
from devpush.web.rendering import build_templates
from tests.logs.hostile import HOSTILE

APP = Path(__file__).resolve().parents[2] / "devpush"
MAX_CHARS = 10_000
ALLOWED = {
    "li": {"id", "class", "data-ts"},
    "a": {"class", "href", "title"},
    "time": {"datetime"},
    "span": {"class", "title"},
}


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def row(line: str, **labels: str) -> str:
    entry = LogEntry(
        timestamp_ns=1_738_324_800_000_000_001,
        line=line,
        labels={"stream": "stderr", "deployment_id": "d1", **labels},
    )
    item = PagedEntry(entry=entry, cursor=LogCursor(timestamp_ns=entry.timestamp_ns))
    macro = build_templates(APP / "templates").env.get_template("logs/macros/lines.html")
    return str(macro.module.log_line(log_line(item, max_chars=MAX_CHARS), "/projects/shop/logs"))  # type: ignore[attr-defined]


def parse(html: str, allowed: dict[str, set[str]] = ALLOWED) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.found:
        assert tag in allowed, (tag, html[:300])
        assert set(attrs) <= allowed[tag], (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on")
            if name == "href":
                assert value is not None and value.startswith("/projects/shop/logs/line?id=")
            if name == "class":
                assert value is not None
                assert re.fullmatch(r"[a-z0-9 -]+", value), value
    return parser


@pytest.mark.parametrize("line", HOSTILE)
def test_hostile_lines_come_out_as_text(line: str) -> None:
    html = row(line)
    parsed = parse(html)
    text = "".join(parsed.text)
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    if "<" in line:
        assert "&lt;" in html
    assert "{{ 7*7 }}" in text or "{{" not in line  # no template evaluation of line text
    assert "\x1b" not in html and "\x00" not in html and "\x07" not in html


def test_ansi_colours_become_classes() -> None:
    html = row("[ERROR] \x1b[1;31mboom\x1b[0m plain \x1b[38;5;208morange\x1b[0m")
    assert '<span class="ansi-bold ansi-fg-1">boom</span>' in html
    assert '<span class="ansi-fg-208">orange</span>' in html
    assert "level-error" in html and "stream-stderr" in html


def test_hostile_labels_are_escaped_in_attributes_and_text() -> None:
    html = row("ok", stream='"><script>x()</script>', deployment_id="<b>")
    parse(html)
    assert "<script" not in html
    # A label never becomes a class name; it shows as escaped text only.
    assert 'class="log-line stream-other"' in html
    assert 'title="&#34;&gt;&lt;script&gt;x()&lt;/script&gt;"' in html


def test_invalid_utf8_and_lone_surrogates_are_replaced() -> None:
    html = row("bad \udcff byte \ud800 end")
    assert "bad \ufffd byte \ufffd end" in html
    assert render_line(b"raw \xff\xfe bytes", max_chars=100).text == "raw \ufffd\ufffd bytes"


def test_a_megabyte_line_is_cut_with_a_link_to_the_whole_line() -> None:
    line = ("<script>" + "x" * 100) * 10_000  # ~1 MiB
    html = row(line)
    parsed = parse(html)
    assert len(html) < 3 * MAX_CHARS + 2000
    assert "<script" not in html
    assert f"of {len(line)} characters: show the whole line" in html
    more = [a for tag, a in parsed.found if tag == "a" and a.get("class") == "log-more"]
    assert (
        more
        and more[0]["href"] == "/projects/shop/logs/line?id=" + html.split('id="L')[1].split('"')[0]
    )


def test_stylesheet_covers_every_class_the_renderer_emits() -> None:
    css = (APP / "static" / "logs.css").read_text()
    for kind in ("fg", "bg"):
        for index in range(256):
            assert f".ansi-{kind}-{index} " in css, (kind, index)
    for flag in ("bold", "dim", "italic", "underline", "strike"):
        assert f".ansi-{flag} " in css


JSON_ALLOWED = {
    **ALLOWED,
    "details": {"class"},
    "summary": {"title", "aria-label"},
    "pre": {"class"},
}


@pytest.mark.parametrize(
    "line",
    [
        '{"level":"error","msg":"<img src=x onerror=alert(1)>","user":"<script>x()</script>"}',
        '{"msg":"\\u001b[31mred\\u001b[0m \\u001b]0;title\\u0007","x":"</pre></details><b>"}',
        '{"message":"{{ 7*7 }}","a":{"b":["</li>",1e999,"\\ud800"]}}',
    ],
)
def test_a_json_row_shows_its_message_and_the_object_as_text(line: str) -> None:
    html = row(line)
    parsed = parse(html, JSON_ALLOWED)
    tags = [tag for tag, _ in parsed.found]
    assert tags.count("details") == 1 and tags.count("pre") == 1 and tags.count("summary") == 1
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "\x1b" not in html and "\x07" not in html
    assert "\ud800" not in html
    text = "".join(parsed.text)
    assert "{{ 7*7 }}" in text or "{{" not in line


def test_a_json_row_renders_its_level_and_message() -> None:
    html = row('{"level":"warn","msg":"\\u001b[32mready\\u001b[0m in 3ms","port":8080}')
    assert "level-warning" in html
    assert '<span class="log-message"><span class="ansi-fg-2">ready</span> in 3ms</span>' in html
    assert "&#34;port&#34;: 8080" in html  # the pretty object, escaped
    plain = row('{"level":"info","port":8080}')  # no message: the whole line shows
    assert '<span class="log-message">{&#34;level&#34;:&#34;info&#34;' in plain


def test_a_json_line_cut_for_display_stays_text() -> None:
    line = '{"msg":"long","pad":"' + "x" * MAX_CHARS + '"}'
    html = row(line)
    assert "<details" not in html and "show the whole line" in html
