"""Hostile log text: lines and label values that try to break out of what carries them.

One set for every carrier, so each test meets all of it: a quoted string of a query
(LogQL, LogsQL, a regex) meets quotes, backslashes, control and format characters and
query syntax; an HTML row or a terminal meets markup, template syntax and escape
sequences.
"""

from __future__ import annotations

HOSTILE = [
    # Quoting and characters a string literal must escape.
    'a"b',
    "back\\slash",
    "tick`tick",
    "new\nline",
    "cr\rtab\t",
    "nul\x00byte",
    "bell\x07esc\x1b[31m",
    "del\x7f c1\x85 nbsp\xa0 ls\u2028 bom\ufeff",
    "é 日本 🎉",
    "\U0010ffff\ue000",
    # Query syntax: widen the stream selector, add a filter, or read as a pattern.
    '} or {project_id=~".+"}',
    '"} |= "x',
    '\\"} |= "x',
    "a.b*c+d?e(f)g|h[i]j{k}l^m$n\\o",
    "\\x41\\u0041\\101",
    # Markup, template syntax and terminal escapes.
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</li></ol><iframe src=javascript:alert(1)>",
    "&lt;already escaped&gt; &amp; {{ 7*7 }} {% raw %}",
    "\x1b]0;pwned title\x07\x1b]8;;javascript:alert(1)\x1b\\link\x1b]8;;\x1b\\",
    '\x1b[31m<b onclick="x()">red</b>\x1b[0m',
    "nul\x00 bell\x07 esc\x1b[2J clear",
]
