"""The query language's parser: the tree of each form, and errors that name the column."""

from __future__ import annotations

import pytest

from devpush.logs.qlang import MAX_DEPTH, MAX_QUERY_CHARS, MAX_TERMS, QuerySyntaxError, parse
from devpush.logs.qlang.ast import And, Compare, FieldMatch, Not, Or, Phrase, Regex, Text
from devpush.logs.qlang.transform import lift_level, map_values


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("timeout", Text("timeout")),
        ('"connection reset"', Phrase("connection reset")),
        ('"say \\"hi\\" \\\\"', Phrase('say "hi" \\')),
        ("-health", Not(Text("health"))),
        ("NOT health", Not(Text("health"))),
        ("/err(or)?/", Regex("err(or)?")),
        ("/a\\/b/", Regex("a/b")),
        ("/api/users", Text("/api/users")),  # a path, not a regex
        ("http://x", Text("http://x")),  # no such field: text
        ("foo-bar", Text("foo-bar")),
        ("ORDER", Text("ORDER")),
        ("a b", And((Text("a"), Text("b")))),
        ("a AND b", And((Text("a"), Text("b")))),
        ("a OR b c", Or((Text("a"), And((Text("b"), Text("c")))))),
        ("(a OR b) c", And((Or((Text("a"), Text("b"))), Text("c")))),
        ("status:>=500", Compare("status", ">=", 500)),
        ("status:404", Compare("status", "=", 404)),
        ("status:5xx", And((Compare("status", ">=", 500), Compare("status", "<", 600)))),
        ("duration:>1s", Compare("duration", ">", 1000)),
        ("duration:<=250ms", Compare("duration", "<=", 250)),
        ("duration:>1.5m", Compare("duration", ">", 90_000)),
        ("duration:12", Compare("duration", "=", 12)),
        ("level:ERROR", FieldMatch("level", "error")),
        ("stream:stderr", FieldMatch("stream", "stderr")),
        ("source:request", FieldMatch("source", "request")),
        ("deployment:3f2a", FieldMatch("deployment", "3f2a*", wildcard=True)),
        ("branch:feature/*", FieldMatch("branch", "feature/*", wildcard=True)),
        ('branch:"a b*"', FieldMatch("branch", "a b*")),  # quoted: * is literal
        ("method:post", FieldMatch("method", "POST")),
        ("path:/health*", FieldMatch("path", "/health*", wildcard=True)),
        ("Host:app.example.com", FieldMatch("host", "app.example.com")),
        ("client:203.0.113.7", FieldMatch("client", "203.0.113.7")),
        ("environment:production", FieldMatch("environment", "production")),
        ("json.user.id:12", FieldMatch("json.user.id", "12")),
        ("json.msg:*boom*", FieldMatch("json.msg", "*boom*", wildcard=True)),
        (
            "status:>=500 -path:/health*",
            And((Compare("status", ">=", 500), Not(FieldMatch("path", "/health*", True)))),
        ),
    ],
)
def test_each_form_parses_to_its_tree(text: str, tree: object) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "column 1: the query is empty"),
        ("level:error status:", "column 20: expected a value after 'status:'"),
        ("status: 500", "column 8: expected a value after 'status:'"),
        ("status:>=", "column 10: expected a number after '>='"),
        ("a (b", "column 5: expected ')' to close a '('"),
        ("a)", "column 2: ')' closes no '('"),
        ('x "abc', 'column 3: this quote is never closed (add a closing ")'),
        ("a OR", "column 5: expected a term after OR"),
        ("a (", "column 4: expected a term after '(', found the end of the query"),
        ('a ""', "column 3: expected text between the quotes"),
        ("- a", "column 1: expected a term right after '-' (no space)"),
        ("path:>3", "column 6: > compares numbers: only status: and duration: take it"),
        ("status:abc", "column 8: a status is a number from 100 to 599, or 2xx"),
        ("duration:>1h", "column 11: a duration is a number with ms, s or m"),
        ("level:loud", "column 7: level is one of error, warning, info, debug"),
        ("stream:stdin", "column 8: stream is one of stdout, stderr"),
        ("x /a(/", "column 3: invalid regular expression"),
        ("/\\C/", "column 1: invalid regular expression: \\C"),
        ("json.a-b:1", "column 1: 'json.a-b' is not a JSON field name"),
        ("a\x00", "column 2: the query holds a character that is not text"),
    ],
)
def test_errors_name_the_column(text: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(text)
    assert caught.value.message.startswith(message), caught.value.message
    assert caught.value.http_status == 400


def test_limits_are_checked_before_any_deep_work() -> None:
    with pytest.raises(QuerySyntaxError, match=f"longer than {MAX_QUERY_CHARS}"):
        parse("a" * (MAX_QUERY_CHARS + 1))
    with pytest.raises(QuerySyntaxError, match=f"deeper than {MAX_DEPTH}"):
        parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(QuerySyntaxError, match=f"deeper than {MAX_DEPTH}"):
        parse("NOT " * (MAX_DEPTH + 1) + "a")
    with pytest.raises(QuerySyntaxError, match=f"more than {MAX_TERMS} terms"):
        parse(" ".join(["a"] * (MAX_TERMS + 1)))
    assert parse("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH) == Text("a")


def test_a_top_level_level_is_lifted_and_environment_names_become_ids() -> None:
    assert lift_level(parse("level:error timeout")) == ("error", Text("timeout"))
    assert lift_level(parse("level:error")) == ("error", None)
    nested = parse("level:error OR timeout")
    assert lift_level(nested) == (None, nested)
    tree = map_values(parse("-environment:Production x"), "environment", {"production": "e1"})
    assert tree == And((Not(FieldMatch("environment", "e1")), Text("x")))
