"""Go's string literals as the log stores' lexers read them (both are written in Go)."""

from __future__ import annotations


def go_unquote(literal: str) -> str:
    """Go's text/scanner + strconv.Unquote on a double-quoted literal, as Loki's lexer uses them.

    Raises ValueError where Loki's lexer reports an error.
    """
    if len(literal) < 2 or literal[0] != '"' or literal[-1] != '"':
        raise ValueError("not a double-quoted literal")
    body = literal[1:-1]
    if "\n" in body or "\x00" in body:
        raise ValueError("literal not terminated / invalid character NUL")
    out = bytearray()
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
    i = 0
    while i < len(body):
        char = body[i]
        if char == '"':
            raise ValueError("unescaped quote ends the literal early")
        if char != "\\":
            out += char.encode("utf-8")
            i += 1
            continue
        kind = body[i + 1]
        if kind in simple:
            out.append(simple[kind])
            i += 2
        elif kind in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[kind]
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError("bad hex escape")
            value = int(digits, 16)
            if kind == "x":
                out.append(value)
            else:
                if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                    raise ValueError("invalid rune")
                out += chr(value).encode("utf-8")
            i += 2 + width
        elif kind in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or any(c not in "01234567" for c in digits) or int(digits, 8) > 255:
                raise ValueError("bad octal escape")
            out.append(int(digits, 8))
            i += 4
        else:
            raise ValueError(f"unknown escape \\{kind}")
    return out.decode("utf-8")  # invalid UTF-8 is an error in Loki's lexer too
