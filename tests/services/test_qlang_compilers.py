"""The query language compiled to LogsQL and LogQL: the exact text, inside the scope."""

from __future__ import annotations

import pytest

from devpush.logs.errors import InvalidSearch
from devpush.logs.qlang import parse
from devpush.logs.query import LogQuery
from devpush.services.loki._logql import log_query
from devpush.services.victorialogs._logsql import filters

MAX = 512
SCOPE_VL = '_stream:{project_id="p1"} deployment_id:="d1"'
SCOPE_LOKI = '{project_id="p1", deployment_id="d1", job="docker"}'


def compiled(text: str) -> tuple[str, str]:
    query = LogQuery(project_id="p1", deployment_id="d1", expr=parse(text))
    return filters(query, max_search_chars=MAX), log_query(query, max_search_chars=MAX)


@pytest.mark.parametrize(
    ("text", "logsql"),
    [
        ("Timeout", '(~"(?i)Timeout")'),
        ('"a.b"', '(~"a\\\\.b")'),
        ("/x+/", '(~"x+")'),
        ("-x", '(!(~"(?i)x"))'),
        ("a OR b", '((~"(?i)a" or ~"(?i)b"))'),
        ("status:>=500", '("request.status":>=500)'),
        ("status:404", '("request.status":range[404, 404])'),
        ("duration:>1.5s", '("request.duration_ms":>1500)'),
        ("path:/health*", '("request.path":~"(?s)^/health.*$")'),
        ("method:get", '("request.method":="GET")'),
        ("source:request", '(source:="request")'),
        ("source:stderr", '(stream:="stderr")'),
        ("branch:main", '("branch":="main")'),
        ('branch:"x\\" or y"', '("branch":="x\\" or y")'),
        (
            "json.user.id:12 x",
            '| unpack_json from _msg fields ("user.id") result_prefix "json." '
            '| filter (("json.user.id":="12" ~"(?i)x"))',
        ),
    ],
)
def test_logsql(text: str, logsql: str) -> None:
    assert compiled(text)[0] == f"{SCOPE_VL} {logsql}"


@pytest.mark.parametrize(
    ("text", "logql"),
    [
        ("Timeout", '|~ "(?i)Timeout"'),
        ("-x /y/", '!~ "(?i)x" |~ "y"'),
        (
            "status:>=500",
            '| json devpush_status="status" | (source="request" and '
            'devpush_status=~"[0-9]+(?:\\\\.[0-9]+)?" and devpush_status >= 500) '
            "| drop devpush_status, __error__, __error_details__",
        ),
        (
            "-path:/health*",
            '| json devpush_path="path" | (source!="request" or devpush_path!~"(?s)^/health.*$") '
            "| drop devpush_path, __error__, __error_details__",
        ),
        (
            "a OR stream:stderr",
            '| label_format devpush_line="{{ __line__ }}" '
            '| (devpush_line=~"(?s).*(?:(?i)a).*" or stream="stderr") '
            "| drop devpush_line, __error__, __error_details__",
        ),
        (
            "-(json.user.id:12 branch:x*)",
            '| json devpush_json_0="user.id" '
            '| (devpush_json_0!="12" or branch!~"(?s)^x.*$") '
            "| drop devpush_json_0, __error__, __error_details__",
        ),
    ],
)
def test_logql(text: str, logql: str) -> None:
    assert compiled(text)[1] == f"{SCOPE_LOKI} {logql}"


def test_each_search_term_keeps_the_search_length_limit() -> None:
    with pytest.raises(InvalidSearch, match=f"longer than {MAX}"):
        compiled("x" * (MAX + 1))
    with pytest.raises(InvalidSearch, match=f"longer than {MAX}"):
        compiled(f'a OR "{"y" * (MAX + 1)}"')
