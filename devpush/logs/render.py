"""Turn one untrusted log line into safe HTML.

Everything from the line is escaped (markupsafe); the only markup added is
``<span class="ansi-…">`` for ANSI SGR styles (bold, dim, italic, underline, strike,
inverse, 16/256/24-bit colours, the last mapped onto the xterm 256-colour palette so
the CSS stays a fixed set of classes and no inline style is needed). Every other escape
sequence (cursor moves, OSC titles and hyperlinks, DCS…) and control character except
tab is dropped. Invalid UTF-8 and lone surrogates become U+FFFD. Lines longer than
``Settings.log_line_max_chars`` visible characters are cut and flagged.

ansi2html was tried and not used: it leaves OSC sequences in its output and names a
class per 24-bit colour, which would need generated CSS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from markupsafe import Markup, escape

from devpush.ansi import TOKEN, sgr_params
from devpush.logs.entries import clean_text

_CUBE: Final = (0, 95, 135, 175, 215, 255)


@dataclass(frozen=True, slots=True)
class RenderedLine:
    html: Markup
    text: str  # the visible text that was rendered, without escape sequences
    truncated: bool  # the line was longer than the limit: the full line is available
    full_chars: int  # length of the whole line (escape sequences included)


@dataclass(slots=True)
class _Style:
    fg: int | None = None
    bg: int | None = None
    flags: set[str] = field(default_factory=set)

    def classes(self) -> str:
        fg, bg = self.fg, self.bg
        names = sorted(self.flags)
        if "inverse" in self.flags:
            fg, bg = bg, fg
        if fg is not None:
            names.append(f"fg-{fg}")
        if bg is not None:
            names.append(f"bg-{bg}")
        return " ".join(f"ansi-{name}" for name in names)


def render_line(line: str | bytes, *, max_chars: int) -> RenderedLine:
    """Safe HTML for one log line, at most ``max_chars`` visible characters long."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    line = clean_text(line)
    style = _Style()
    segments: list[tuple[str, str]] = []
    budget = max_chars
    position = 0
    truncated = False

    def add(text: str) -> bool:
        nonlocal budget, truncated
        if not text:
            return True
        if len(text) > budget:
            text, truncated = text[:budget], True
        budget -= len(text)
        classes = style.classes()
        if segments and segments[-1][0] == classes:
            segments[-1] = (classes, segments[-1][1] + text)
        else:
            segments.append((classes, text))
        return not truncated

    for token in TOKEN.finditer(line):
        if not add(line[position : token.start()]):
            break
        position = token.end()
        params = sgr_params(token)
        if params is not None:
            _apply_sgr(style, params)
    else:
        add(line[position:])
    html = Markup("").join(
        Markup('<span class="{}">{}</span>').format(classes, text) if classes else escape(text)
        for classes, text in segments
    )
    return RenderedLine(
        html=html,
        text="".join(text for _, text in segments),
        truncated=truncated,
        full_chars=len(line),
    )


def _number(text: str) -> int | None:
    # Bounded: a hostile 100 kB parameter must not reach int()'s digit limit.
    return int(text) if text.isdigit() and len(text) <= 6 else None


def _apply_sgr(style: _Style, params: str) -> None:
    parts = params.split(";")
    i = 0
    while i < len(parts):
        part = parts[i]
        i += 1
        if ":" in part:  # ISO 8613-6 sub-parameters: 38:5:n, 38:2::r:g:b, 4:3
            code, *sub = part.split(":")
            number = _number(code or "0")
            if number in (38, 48):
                # 38:2:<colour space id>:r:g:b drops the id; 38:2:r:g:b has none.
                colour = _colour(["2", *sub[2:]] if sub[:1] == ["2"] and len(sub) == 5 else sub)
                _set_colour(style, number, colour)
            elif number == 4:
                _set_flag(style, "underline", sub[:1] != ["0"])
            continue
        value = _number(part or "0")
        if value in (38, 48, 58):
            mode = parts[i] if i < len(parts) else ""
            width = 2 if mode == "5" else 4 if mode == "2" else 1
            colour = _colour(parts[i : i + width])
            i += width
            if value != 58:  # 58 is the underline colour: not rendered
                _set_colour(style, value, colour)
        elif value is not None:
            _apply_code(style, value)


def _apply_code(style: _Style, code: int) -> None:
    flags = {1: "bold", 2: "dim", 3: "italic", 4: "underline", 7: "inverse", 9: "strike"}
    off = {22: ("bold", "dim"), 23: ("italic",), 24: ("underline",), 27: ("inverse",)}
    if code == 0:
        style.fg, style.bg = None, None
        style.flags.clear()
    elif code in flags:
        style.flags.add(flags[code])
    elif code in off:
        style.flags.difference_update(off[code])
    elif code == 29:
        style.flags.discard("strike")
    elif 30 <= code <= 37 or 90 <= code <= 97:
        style.fg = code - 30 if code < 90 else code - 82
    elif 40 <= code <= 47 or 100 <= code <= 107:
        style.bg = code - 40 if code < 100 else code - 92
    elif code == 39:
        style.fg = None
    elif code == 49:
        style.bg = None


def _set_flag(style: _Style, name: str, on: bool) -> None:
    if on:
        style.flags.add(name)
    else:
        style.flags.discard(name)


def _set_colour(style: _Style, code: int, colour: int | None) -> None:
    if colour is None:
        return
    if code == 38:
        style.fg = colour
    else:
        style.bg = colour


def _colour(args: list[str]) -> int | None:
    """xterm-256 index from ``5;n`` or ``2;r;g;b`` (the mode first)."""
    if not args:
        return None
    values = [_number(a) for a in args[1:]]
    numbers = [v for v in values if v is not None and v <= 255]
    if len(numbers) != len(values):
        return None
    if args[0] == "5" and len(numbers) == 1:
        return numbers[0]
    if args[0] == "2" and len(numbers) == 3:
        return _nearest_xterm(*numbers)
    return None


def _nearest_xterm(r: int, g: int, b: int) -> int:
    def level(v: int) -> int:
        return min(range(6), key=lambda i: abs(_CUBE[i] - v))

    ri, gi, bi = level(r), level(g), level(b)
    cube = (_CUBE[ri], _CUBE[gi], _CUBE[bi])
    grey_index = min(23, max(0, round((r + g + b) / 3 - 8) // 10))
    grey = 8 + 10 * grey_index

    def distance(c: tuple[int, int, int]) -> int:
        return (c[0] - r) ** 2 + (c[1] - g) ** 2 + (c[2] - b) ** 2

    if distance((grey, grey, grey)) < distance(cube):
        return 232 + grey_index
    return 16 + 36 * ri + 6 * gi + bi
