"""Pasted environment variables: dotenv's rules, line numbers in errors, and a round-trip."""

from __future__ import annotations

import pytest

from devpush.services.projects import format_env_lines, parse_env_lines

PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nk0l+Zs==\n-----END PRIVATE KEY-----"


def test_dotenv_input() -> None:
    text = f"""# pasted from .env
export API_URL=https://api.example.org/v1
NAME="a b"
SINGLE='no $expansion \\n here'
ESCAPED="tab\\there \\"quoted\\""
KEY="{PEM}"
TRAILING=value # a comment
  INDENTED = spaced
REF=${{API_URL}}/x
EMPTY=
"""
    assert parse_env_lines(text) == {
        "API_URL": "https://api.example.org/v1",
        "NAME": "a b",
        "SINGLE": "no $expansion \\n here",
        "ESCAPED": 'tab\there "quoted"',
        "KEY": PEM,
        "TRAILING": "value",
        "INDENTED": "spaced",
        "REF": "${API_URL}/x",
        "EMPTY": "",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\nnot a pair", "line 2: expected KEY=VALUE"),
        ("A=1\n\n# c\nB", "line 4: B has no '='"),
        ('A=1\nB="open\nC=3', "line 2: expected KEY=VALUE"),
        ("A=1\nBAD-NAME=1", "line 2: 'BAD-NAME' is not a name"),
        ('K="x\ny"\n9X=1', "line 3: '9X' is not a name"),
    ],
)
def test_a_bad_line_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_env_lines(text)


VALUES = [
    "",
    "plain",
    "a b",
    PEM,
    'quote " inside',
    "single ' inside",
    "back\\slash",
    "ends with backslash\\",
    '\\"',
    "\\n is not a newline",
    "# not a comment",
    "value # with hash",
    "  padded  ",
    "crlf\r\nline",
    "tab\there",
    "${NOT_EXPANDED}",
    "export X=1",
    "ünïcode ✓",
    "=starts=with=equals",
]


def test_what_is_shown_pastes_back_to_the_same_values() -> None:
    values = {f"V{i}": value for i, value in enumerate(VALUES)}
    assert parse_env_lines(format_env_lines(values)) == values
    for i, value in enumerate(VALUES):  # each alone, too: no help from its neighbours
        assert parse_env_lines(format_env_lines({"K": value})) == {"K": value}, (i, value)
