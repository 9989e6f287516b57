"""The fuzz test: 10,000 generated and hostile queries against both compilers.

Every query either parses and compiles to a store query whose project scope is first and
closed (``structure.py``), or is refused with InvalidQuery (a 4xx); nothing else may
raise. A sample of the compiled LogsQL is sent to a real VictoriaLogs holding two
projects' lines: the store accepts every one, and none answers with project B's lines.
"""

from __future__ import annotations

import random

import httpx

from devpush.logs.errors import InvalidQuery
from devpush.logs.qlang import parse
from devpush.logs.qlang.ast import Expr
from devpush.logs.query import LogQuery
from devpush.services.loki._logql import log_query
from devpush.services.victorialogs._logsql import filters
from tests.logs.qlang.generated import queries
from tests.logs.qlang.store import RequestStore, Scope, request_store  # noqa: F401
from tests.logs.qlang.structure import check_logql, check_logsql

COUNT = 10_000
SAMPLE = 300
MAX_SEARCH = 512
# Hostile on purpose: a project id that would close a string or a selector if unquoted.
PROJECT_A = 'proj-a"} or {x="'
PROJECT_B = "proj-b"


def _compiled(expr: Expr) -> tuple[str, str]:
    query = LogQuery(project_id=PROJECT_A, expr=expr)
    return filters(query, max_search_chars=MAX_SEARCH), log_query(
        query, max_search_chars=MAX_SEARCH
    )


def test_ten_thousand_queries_keep_the_project_scope_or_are_refused() -> None:
    parsed, refused = 0, 0
    for text in queries(COUNT):
        try:
            logsql, logql = _compiled(parse(text))
        except InvalidQuery as exc:
            assert exc.http_status < 500, text
            refused += 1
            continue
        check_logsql(logsql, PROJECT_A)
        check_logql(logql, PROJECT_A)
        parsed += 1
    assert parsed + refused == COUNT
    # Both kinds are exercised in earnest.
    assert parsed > COUNT // 4 and refused > COUNT // 10, (parsed, refused)


def test_a_sample_runs_on_victorialogs_and_never_returns_another_projects_lines(
    request_store: RequestStore,  # noqa: F811
) -> None:
    a = Scope(PROJECT_A, "env-a", "main", "dep-a")
    b = Scope(PROJECT_B, "env-b", "main", "dep-b")
    rows = []
    for scope in (a, b):
        marker = "B-LINE" if scope is b else "a-line"
        rows += [
            request_store.line(scope, f"{marker} error: timeout GET /health"),
            request_store.line(scope, f'{{"level":"error","msg":"{marker}","user":{{"id":12}}}}'),
            request_store.line(scope, f"{marker} WARN slow", stream="stderr"),
            request_store.request(scope, method="GET", path="/health", status=200, duration_ms=1),
            request_store.request(
                scope, method="POST", path="/api/x", status=503, duration_ms=1500
            ),
        ]
    request_store.write(rows)
    compiled = []
    for text in queries(COUNT):
        try:
            compiled.append(_compiled(parse(text))[0])
        except InvalidQuery:
            continue
    sample = random.Random(19).sample(compiled, SAMPLE)
    returned = 0
    with httpx.Client(base_url=request_store.url, timeout=30) as client:
        for text in sample:
            query = f"{text} | fields _msg, project_id | limit 100"
            response = client.post("/select/logsql/query", data={"query": query, "start": "1h"})
            assert response.status_code == 200, (response.status_code, response.text, text)
            lines = [line for line in response.text.splitlines() if line]
            assert all(PROJECT_B not in line and "B-LINE" not in line for line in lines), text
            returned += bool(lines)
        # The sample matched lines (a scope that matched nothing would prove nothing).
        everything = f"{filters(LogQuery(project_id=PROJECT_A), max_search_chars=MAX_SEARCH)}"
        response = client.post("/select/logsql/query", data={"query": everything, "start": "1h"})
        assert len(response.text.splitlines()) == 5
    assert returned > SAMPLE // 10, returned  # queries that matched some of A's lines
