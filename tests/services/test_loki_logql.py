"""The LogQL builder on hostile input: exact query text, and values that round-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import re2

from devpush.logs.errors import InvalidQuery, InvalidSearch
from devpush.logs.query import LogQuery, go_quote, re2_quote_meta, validate_regex
from devpush.services.loki._logql import log_query, stream_selector, volume_query
from tests.logs.hostile import HOSTILE
from tests.utils.golang import go_unquote


@pytest.mark.parametrize("value", HOSTILE)
def test_logql_string_round_trips_through_go_unquote(value: str) -> None:
    literal = go_quote(value)
    assert go_unquote(literal) == value
    assert "\n" not in literal and "\x00" not in literal and "\r" not in literal
    literal.encode("utf-8")  # valid UTF-8 on the wire


def test_logql_string_exact_text() -> None:
    assert go_quote('a"b\\c') == r'"a\"b\\c"'
    assert go_quote("x\ny\rz\tw") == r'"x\ny\rz\tw"'
    assert go_quote("\x00\x1b\x7f\x85\u2028\ufeff") == r'"\u0000\u001b\u007f\u0085\u2028\ufeff"'
    assert go_quote("tick`é日🎉") == '"tick`é日🎉"'
    assert go_quote("\U000e0001") == r'"\U000e0001"'  # a format char outside the BMP


def test_logql_string_refuses_lone_surrogate() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        go_quote("a\ud800b")


def test_selector_escapes_every_label_value_in_label_order() -> None:
    query = LogQuery(
        project_id='p"} or {x=~".*',
        deployment_id="d\\",
        environment_id="e`x`",
        branch='feat/é\n|= "x"',
        stream="stderr",
    )
    assert stream_selector(query) == (
        r'{project_id="p\"} or {x=~\".*", environment_id="e`x`", '
        r'branch="feat/é\n|= \"x\"", deployment_id="d\\", job="docker", stream="stderr"}'
    )


def test_selector_minimal() -> None:
    assert stream_selector(LogQuery(project_id="42")) == '{project_id="42", job="docker"}'


@pytest.mark.parametrize("field", ["project_id", "deployment_id", "environment_id", "branch"])
def test_empty_label_value_is_refused_because_it_would_widen(field: str) -> None:
    # In LogQL, name="" matches streams that lack the label.
    values = {"project_id": "p", field: ""}
    with pytest.raises(InvalidQuery, match=field):
        LogQuery(**values)


def test_label_value_with_lone_surrogate_is_refused() -> None:
    with pytest.raises(InvalidQuery):
        stream_selector(LogQuery(project_id="p\udc80"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", r'{project_id="p", job="docker"} |~ "(?i)hello"'),
        ('say "hi"', r'{project_id="p", job="docker"} |~ "(?i)say \"hi\""'),
        ("C:\\temp", r'{project_id="p", job="docker"} |~ "(?i)C:\\\\temp"'),
        ("1.5*x+(y)", r'{project_id="p", job="docker"} |~ "(?i)1\\.5\\*x\\+\\(y\\)"'),
        ('"} or {a=~".+"', r'{project_id="p", job="docker"} |~ "(?i)\"\\} or \\{a=~\"\\.\\+\""'),
        ('|= "x" | json', r'{project_id="p", job="docker"} |~ "(?i)\\|= \"x\" \\| json"'),
        ("`tick`", r'{project_id="p", job="docker"} |~ "(?i)`tick`"'),
        ("a\nb", r'{project_id="p", job="docker"} |~ "(?i)a\nb"'),
        ("Grüße 日本", r'{project_id="p", job="docker"} |~ "(?i)Grüße 日本"'),
        ("^[x]$", r'{project_id="p", job="docker"} |~ "(?i)\\^\\[x\\]\\$"'),
        ("nul\x00", r'{project_id="p", job="docker"} |~ "(?i)nul\u0000"'),
    ],
)
def test_plain_search_exact_query(text: str, expected: str) -> None:
    assert log_query(LogQuery(project_id="p", search=text), max_search_chars=100) == expected


def test_re2_quote_meta_matches_go_exactly() -> None:
    special = "\\.+*?()|[]{}^$"
    assert re2_quote_meta(special) == "".join("\\" + c for c in special)
    # Go leaves everything else alone, unlike Python's re.escape.
    others = " #&~-_/<>=!%@,;:'\"`\n\t\x00é日"
    assert re2_quote_meta(others) == others


@pytest.mark.parametrize("value", [*HOSTILE, "", "\\E", "\\Q", "(?i)", "a{2,3}"])
def test_re2_quote_meta_matches_literally_in_re2(value: str) -> None:
    pattern = re2.compile(re2_quote_meta(value))
    assert pattern.fullmatch(value) is not None
    assert pattern.search("zz" + value + "zz") is not None


def test_plain_search_is_case_insensitive_substring_in_re2() -> None:
    regex = "(?i)" + re2_quote_meta("Hello.World")
    assert re2.search(regex, "xx hello.world yy")
    assert not re2.search(regex, "helloXworld")


def test_regex_search_exact_query() -> None:
    query = LogQuery(project_id="p", search=r'err(or)?\s+"\d+"', search_mode="regex")
    assert log_query(query, max_search_chars=100) == (
        r'{project_id="p", job="docker"} |~ "err(or)?\\s+\"\\d+\""'
    )


@pytest.mark.parametrize(
    "pattern",
    [
        "(?=a)",
        "(?!a)",
        "(?<=a)b",
        "(?<!a)b",
        r"(a)\1",
        "(?P<n>a)(?P=n)",
        "a++",
        "a**",
        "(?>a)",
        "(?#comment)",
        "(?x) a",
        r"\Z",
        r"\C",
        "a{1001}",
        "(unclosed",
        "[z-a]",
    ],
)
def test_regex_that_re2_or_go_rejects_raises_invalid_search(pattern: str) -> None:
    with pytest.raises(InvalidSearch, match="invalid regular expression"):
        validate_regex(pattern)
    with pytest.raises(InvalidSearch):
        log_query(LogQuery(project_id="p", search=pattern, search_mode="regex"), max_search_chars=9)


@pytest.mark.parametrize(
    "pattern", [r"\pL+", r"[[:alpha:]]+", r"\z", "(?i)abc", "(?P<n>x)", r"\\C", r"\QAB\E", "é+"]
)
def test_regex_that_re2_accepts_is_valid(pattern: str) -> None:
    validate_regex(pattern)  # raises InvalidSearch for a pattern it refuses
    query = LogQuery(project_id="p", search=pattern, search_mode="regex")
    # Accepted as given: the line filter carries the pattern itself, only quoted.
    assert log_query(query, max_search_chars=64) == (
        f'{{project_id="p", job="docker"}} |~ {go_quote(pattern)}'
    )


def test_search_limits() -> None:
    with pytest.raises(InvalidSearch, match="longer than 5"):
        log_query(LogQuery(project_id="p", search="abcdef"), max_search_chars=5)
    with pytest.raises(InvalidSearch, match="surrogate"):
        log_query(LogQuery(project_id="p", search="a\ud800"), max_search_chars=5)


def test_level_filter_is_appended_after_search() -> None:
    query = LogQuery(project_id="p", search="x", level="warning")
    text = log_query(query, max_search_chars=10)
    assert text.startswith(r'{project_id="p", job="docker"} |~ "(?i)x" |~ "')
    assert r"(?:\\b|\\x1b\\[[0-9;]*m)(?:WARNING|WARN)\\b" in text


def test_volume_query_exact() -> None:
    query = LogQuery(project_id="p", deployment_id="d", stream="stdout", search="boom")
    assert volume_query(query, step=timedelta(minutes=1), max_search_chars=10) == (
        'sum by (stream) (count_over_time({project_id="p", deployment_id="d", job="docker", '
        'stream="stdout"} |~ "(?i)boom" [60s]))'
    )
    assert "[1500ms]" in volume_query(query, step=timedelta(seconds=1.5), max_search_chars=10)
    with pytest.raises(InvalidQuery):
        volume_query(query, step=timedelta(0), max_search_chars=10)


def test_times_and_validation() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    query = LogQuery(project_id="p", start=start, end=start + timedelta(microseconds=1))
    assert (query.start_ns, query.end_ns) == (1_704_067_200_000_000_000, 1_704_067_200_000_001_000)
    east = datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert LogQuery(project_id="p", start=east).start_ns == query.start_ns
    with pytest.raises(InvalidQuery, match="naive"):
        LogQuery(project_id="p", start=datetime(2024, 1, 1))
    with pytest.raises(InvalidQuery, match="before end"):
        LogQuery(project_id="p", start=10, end=10)
    for bad in ({"limit": 0}, {"limit": True}, {"direction": "sideways"}, {"stream": "stdin"}):
        with pytest.raises(InvalidQuery):
            LogQuery(project_id="p", **bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidQuery):
        LogQuery(project_id="p", level="loud")  # type: ignore[arg-type]
