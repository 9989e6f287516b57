"""Reading structured (JSON) log lines, hostile ones included: never an exception."""

from __future__ import annotations

import json

import pytest

from devpush.logs.levels import detect_level
from devpush.logs.structured import MAX_DEPTH, parse_structured


def test_level_message_and_fields() -> None:
    line = '{"time":"t","level":"warn","msg":"slow query","ms":812,"db":{"name":"shop"}}'
    parsed = parse_structured(line)
    assert parsed is not None
    assert parsed.level == "warn"
    assert parsed.message == "slow query"
    assert parsed.fields == {"time": "t", "ms": 812, "db": {"name": "shop"}}
    assert list(parsed.object) == ["time", "level", "msg", "ms", "db"]  # the line's order
    assert parsed.pretty().splitlines()[:3] == ["{", '  "time": "t",', '  "level": "warn",']


@pytest.mark.parametrize(
    ("line", "level", "message"),
    [
        ('{"severity":"ERROR","message":"boom"}', "ERROR", "boom"),
        ('{"lvl":"dbug","msg":"x"}', "dbug", "x"),
        ('{"level":30,"msg":"pino"}', 30, "pino"),
        ('{"Level":"Info","Message":"serilog-ish"}', "Info", "serilog-ish"),
        # "level" is preferred to "severity", "msg" to "message", whatever the order.
        ('{"severity":"info","message":"m2","level":"error","msg":"m1"}', "error", "m1"),
        # A message that is not a string is not read as one; a level that is not a
        # string or number neither.
        ('{"level":{"x":1},"msg":42}', None, None),
        ('{"level":true,"msg":null}', None, None),
        ("\t{}\r", None, None),
    ],
)
def test_keys(line: str, level: object, message: str | None) -> None:
    parsed = parse_structured(line)
    assert parsed is not None
    assert parsed.level == level
    assert parsed.message == message


@pytest.mark.parametrize(
    "line",
    [
        "",
        "plain text",
        "[1, 2]",
        '"a string"',
        "{not json}",
        '{"a":1',
        '{"a":1}{"b":2}',
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":-Infinity}',
        '{"a":"\x00"}',  # a raw control character in a string
        "{" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        '{"a":' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}",
        '{"a":' + '{"b":' * 5000 + "1" + "}" * 5000 + "}",
    ],
)
def test_not_structured(line: str) -> None:
    assert parse_structured(line) is None
    detect_level(line)  # never raises either


def test_nesting_at_the_limit_is_read_and_brackets_in_strings_do_not_count() -> None:
    depth = MAX_DEPTH - 1
    line = '{"a":' + "[" * depth + "]" * depth + ',"s":"' + "[" * 500 + '"}'
    parsed = parse_structured(line)
    assert parsed is not None and parsed.fields["s"] == "[" * 500


def test_huge_numbers_are_kept_as_text_and_encode_as_json() -> None:
    digits = "9" * 5000
    parsed = parse_structured(f'{{"big":{digits},"far":1e999,"neg":-1e999,"ok":1.5,"i":7}}')
    assert parsed is not None
    assert parsed.fields == {"big": digits, "far": "1e999", "neg": "-1e999", "ok": 1.5, "i": 7}
    json.loads(json.dumps(parsed.fields, allow_nan=False))
    json.loads(parsed.pretty())


def test_duplicate_keys_keep_the_last_value() -> None:
    parsed = parse_structured('{"msg":"first","a":1,"msg":"second"}')
    assert parsed is not None and parsed.message == "second" and parsed.fields == {"a": 1}


def test_lone_surrogates_and_invalid_utf8_become_replacement_characters() -> None:
    parsed = parse_structured('{"msg":"a\\ud800b","\\udcffkey":["\\ud83d\\ude00","\udc80"]}')
    assert parsed is not None
    assert parsed.message == "a\ufffdb"
    assert parsed.fields == {"\ufffdkey": ["\U0001f600", "\ufffd"]}
    parsed.pretty().encode()  # encodable: no surrogate left
    raw = parse_structured(b'{"msg":"caf\xe9 \xff"}')
    assert raw is not None and raw.message == "caf\ufffd \ufffd"


def test_a_line_over_the_limit_is_text() -> None:
    line = '{"msg":"' + "x" * 100 + '"}'
    assert parse_structured(line, max_chars=len(line)) is not None
    assert parse_structured(line, max_chars=len(line) - 1) is None


def test_ansi_and_markup_stay_in_the_values() -> None:
    parsed = parse_structured('{"msg":"\\u001b[31m<b>red</b>\\u001b[0m"}')
    assert parsed is not None and parsed.message == "\x1b[31m<b>red</b>\x1b[0m"
    assert "\x1b" not in parsed.pretty()  # JSON escapes control characters
