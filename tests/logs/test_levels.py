"""Level detection, and its agreement with the RE2 line filter Loki runs."""

from __future__ import annotations

import json
import random

import pytest
import re2

from devpush.logs.levels import LEVELS, detect_level, level_filter_regex
from devpush.logs.query import validate_regex

CASES = [
    ("ERROR something broke", "error"),
    ("2024-05-01 12:00:00,123 ERROR app: boom", "error"),
    ("ERROR:root:Python logging default format", "error"),
    ("WARNING:django.request:Not Found: /x", "warning"),
    ("CRITICAL:root:disk full", "error"),
    ("DEBUG:urllib3.connectionpool:Starting new HTTPS connection", "debug"),
    ("INFO:     Uvicorn running on http://0.0.0.0:8000", "info"),
    ('time=2024-05-01T12:00:00Z level=error msg="db down"', "error"),
    ('level="warn" msg=x', "warning"),
    ("lvl=dbug msg=x", None),
    ("lvl=debug msg=x", "debug"),
    ('{"level":"error","msg":"x"}', "error"),
    ('{"msg":"ERROR while retrying","level":"info"}', "info"),
    ('{"severity": "WARNING", "message": "x"}', "warning"),
    ('{"level":50,"msg":"pino error"}', "error"),
    ('{"level":30,"msg":"pino info"}', "info"),
    ('{"level":300}', None),
    ("[WARN] deprecated option", "warning"),
    ("[error] nginx style", "error"),
    ("[Info] mixed case bracket", "info"),
    ("npm ERR! code ELIFECYCLE", "error"),
    ("npm error code ERESOLVE", "error"),
    ("npm WARN deprecated inflight@1.0.6", "warning"),
    ("npm warn deprecated glob@7", "warning"),
    ("npm notice New major version", "info"),
    ("E0501 12:00:00.123456   1 main.go:10] klog error", "error"),
    ("W0501 12:00:00.123456   1 main.go:10] klog warning", "warning"),
    ("I0501 12:00:00.123456   1 main.go:10] klog info", "info"),
    ("Traceback (most recent call last):", "error"),
    ("panic: runtime error: index out of range", "error"),
    ("INFO retrying after error", "info"),
    ("an error happened (lower case word is not a level)", None),
    ("ERR_CONNECTION_REFUSED", None),
    ("TERRORIST", None),
    ("plain build output", None),
    ("", None),
    # Coloured output: the SGR code is glued to the level word.
    ("\x1b[31mERROR\x1b[0m:    Exception in ASGI application", "error"),
    ("\x1b[33mWARN\x1b[39m deprecated", "warning"),
    ("\x1b[1;32mINFO\x1b[0m:     Started server process", "info"),
    ("\x1b[31mTERRORIST\x1b[0m", None),
    # Structured lines: the object's own level member wins over anything in the line.
    ('{"nested":{"level":"error"},"level":"info","msg":"ok"}', "info"),
    ('{"level":"warn","msg":"ERROR while retrying"}', "warning"),
    ('  {"Severity":"CRITICAL","message":"disk"}  ', "error"),
    ('{"lvl":"trace"}', "debug"),
    ('{"level":60,"msg":"bunyan fatal"}', "error"),
    ('{"level":20.0}', "debug"),
    ('{"level":"loud","msg":"[WARN] x"}', "warning"),  # unknown value: the text decides
    ('{"level":true,"msg":"INFO x"}', "info"),
    # Spelled so the store's filter can't see it: the text decides, as the filter does.
    ('{"level":"\\u0065rror","msg":"WARN x"}', "warning"),
    ('{"level":"error","level":"info"}', "info"),  # duplicate keys: the last wins
    ('{"level":"error",}', "error"),  # not JSON: the field pattern still reads it
]


@pytest.mark.parametrize(("line", "level"), CASES)
def test_detect_level(line: str, level: str | None) -> None:
    assert detect_level(line) == level


@pytest.mark.parametrize("level", LEVELS)
def test_filter_regex_is_valid_re2_and_covers_every_detected_line(level: str) -> None:
    regex = level_filter_regex(level)  # type: ignore[arg-type]
    validate_regex(regex)
    compiled = re2.compile(regex)
    for line, _ in CASES:
        if detect_level(line) == level:
            assert compiled.search(line), line


def test_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        level_filter_regex("loud")  # type: ignore[arg-type]


def test_filter_regex_covers_generated_json_lines() -> None:
    """Random JSON lines (keys and values in any case, spacing, nesting, escapes): every
    line given a level is matched by that level's filter, so the filter loses none."""
    rng = random.Random(19)
    keys = ["level", "LEVEL", "Lvl", "severity", "loglevel", "log_level", "msg", "x"]
    values: list[object] = ["error", "Warn", "INFO", "debug", "trace", "fatal", "loud"]
    values += [10, 20, 30, 40, 50, 60, 55, 30.0, True, None, {"level": "error"}]
    filters = {level: re2.compile(level_filter_regex(level)) for level in LEVELS}
    for _ in range(3000):
        members = {rng.choice(keys): rng.choice(values) for _ in range(rng.randint(1, 4))}
        line = json.dumps(members, ensure_ascii=rng.random() < 0.5)
        if rng.random() < 0.3:
            line = line.replace('": ', '":' + " " * rng.randint(0, 2))
        if rng.random() < 0.2:
            line = line.replace('"e', '"\\u0065')
        level = detect_level(line)
        if level is not None:
            assert filters[level].search(line), line
