"""Request parameters → a project-scoped LogQuery, asserted as the exact LogQL text.

Hostile values (quotes, ``} or {``, newlines, backslashes) only ever appear inside
escaped LogQL strings; the project id always comes from the scope.
"""

from __future__ import annotations

import httpx
import pytest

from devpush.core.config import Settings
from devpush.log_request import (
    DeploymentRef,
    InvalidLogParams,
    LogFilters,
    LogScope,
    Problem,
    build_query,
    parse_time,
    problem_for,
)
from devpush.logs.errors import (
    InvalidSearch,
    LogStoreError,
    LogStoreProtocolError,
    LogStoreQueryError,
    LogStoreTimeout,
    LogStoreUnavailable,
)
from devpush.services.loki import LokiStore
from devpush.services.loki._logql import log_query

NOW = 1_800_000_000_000_000_000
HOUR = 3600 * 10**9
SETTINGS = Settings()
# Queries are only built and checked here: the client sends nothing.
STORE = LokiStore(httpx.AsyncClient(), settings=SETTINGS)
SCOPE = LogScope(project_id="p1", project_slug="shop", project_name="Shop")


def checked(**params: object) -> LogFilters:
    """The filters as a URL gives them, checked as the views and the API check them."""
    return LogFilters.model_validate(params).checked()


def logql(filters: LogFilters, scope: LogScope = SCOPE) -> str:
    query = build_query(scope=scope, filters=filters, store=STORE, now_ns=NOW)
    return log_query(query, max_search_chars=SETTINGS.log_search_max_chars)


def test_defaults_are_the_project_over_the_last_hour() -> None:
    query = build_query(scope=SCOPE, filters=LogFilters(), store=STORE, now_ns=NOW)
    assert (query.start_ns, query.end_ns, query.direction) == (NOW - HOUR, NOW, "backward")
    assert logql(LogFilters()) == '{project_id="p1", job="docker"}'


def test_hostile_branch_and_search_stay_inside_escaped_strings() -> None:
    filters = checked(
        branch='main"} or {project_id=~".+',
        q='"say \\"hi\\" \\\\ } or { a.b(\n"',  # a phrase: the query language
        stream="stderr",
    )
    assert logql(filters) == (
        '{project_id="p1", branch="main\\"} or {project_id=~\\".+", job="docker", '
        'stream="stderr"} |~ "say \\"hi\\" \\\\\\\\ \\\\} or \\\\{ a\\\\.b\\\\(\\n"'
    )


def test_regex_search_is_passed_as_written_and_validated() -> None:
    filters = checked(q=r'^err(or)?\s+"\d+"$', regex=True)
    assert logql(filters) == ('{project_id="p1", job="docker"} |~ "^err(or)?\\\\s+\\"\\\\d+\\"$"')
    with pytest.raises(InvalidSearch, match="invalid regular expression"):
        logql(checked(q="(?<=x)y", regex=True))
    with pytest.raises(InvalidSearch, match="longer than"):
        logql(checked(q="x" * (SETTINGS.log_search_max_chars + 1)))


def test_scope_ids_come_from_the_resolved_scope_not_the_params() -> None:
    deployment = DeploymentRef(
        id="d1", environment_id="e1", branch="main", created_ns=NOW - 5 * HOUR, finished=True
    )
    scope = LogScope(
        project_id="p1", project_slug="shop", project_name="Shop",
        environment_id="e1", deployment=deployment,
    )  # fmt: skip
    # The filters' raw ids were only used to resolve the scope; the query uses the scope's.
    filters = checked(deployment="d1", environment="e1", level="error")
    text = logql(filters, scope)
    assert text.startswith(
        '{project_id="p1", environment_id="e1", deployment_id="d1", job="docker"} |~ "'
    )
    query = build_query(scope=scope, filters=filters, store=STORE, now_ns=NOW)
    # A deployment's range starts a minute before it was created.
    assert query.start_ns == NOW - 5 * HOUR - 60 * 10**9


def test_empty_form_fields_mean_not_given() -> None:
    filters = checked(
        environment="", branch="", deployment="", stream="", level="", q="", since=" ", until=""
    )
    assert filters == LogFilters()
    assert filters.params() == {}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"stream": "stdin"}, "stream"), ({"level": "LOUD"}, "level"), ({"level": "} or {"}, "level")],
)
def test_unknown_stream_or_level_is_refused(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidLogParams) as caught:
        checked(**kwargs)
    assert caught.value.field == field


def test_params_round_trip_for_links() -> None:
    filters = checked(branch="a&b=c", q="x", regex=True, since="2h")
    assert filters.params(since="5", until="9") == {
        "branch": "a&b=c", "q": "x", "regex": "1", "since": "5", "until": "9",
    }  # fmt: skip
    assert checked(q="", regex=True).params() == {}  # regex needs a search


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", NOW - 15 * 60 * 10**9),
        ("2h", NOW - 2 * HOUR),
        ("7d", NOW - 7 * 24 * HOUR),
        ("1700000000000000000", 1_700_000_000_000_000_000),
        ("2025-01-31T12:00", 1_738_324_800 * 10**9),
        ("2025-01-31T12:00:00.5+01:00", (1_738_324_800 - 3600) * 10**9 + 500_000_000),
        ("2025-01-31T12:00:00Z", 1_738_324_800 * 10**9),
    ],
)
def test_parse_time(text: str, expected: int) -> None:
    assert parse_time(text, now_ns=NOW, field="since") == expected


@pytest.mark.parametrize("text", ["yesterday", "0m", "-1h", "1y", "12:00", "1e9", "١٢٣"])
def test_parse_time_refuses(text: str) -> None:
    with pytest.raises(InvalidLogParams) as caught:
        parse_time(text, now_ns=NOW, field="until")
    assert caught.value.field == "until"


def test_since_after_until_is_refused() -> None:
    with pytest.raises(InvalidLogParams, match="before until"):
        build_query(
            scope=SCOPE,
            filters=checked(since="1h", until="2h"),
            store=STORE,
            now_ns=NOW,
        )


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (LogStoreUnavailable("refused"), 503),
        (LogStoreTimeout("slow"), 503),
        (LogStoreQueryError("bad", status_code=400), 422),
        (LogStoreProtocolError("junk"), 502),
        (InvalidSearch("invalid regular expression: x"), 422),
        (InvalidLogParams("since", "nope"), 422),
    ],
)
def test_problem_for(exc: Exception, status: int) -> None:
    problem = problem_for(exc)
    assert isinstance(problem, Problem)
    assert problem.status_code == status


def test_problem_for_an_unexpected_store_error_is_a_502_naming_no_backend() -> None:
    problem = problem_for(LogStoreError("odd"))
    assert problem.status_code == 502
    assert "log store" in problem.message and "Loki" not in problem.message
