"""``q=`` on the logs API: the query language against a real VictoriaLogs.

Request entries are written into the store as the shared contract names their fields;
Alice's query never returns Bob's lines, whatever it says, and a bad query is a 400
whose message names the column.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import Environment
from tests.fixtures.web import Member, TwoTeams, bearer, only_environment_id
from tests.logs.qlang.store import (  # noqa: F401
    RequestStore,
    Scope,
    log_store_url,
    request_store,
    written_for_members,
)


def rows_of(store: RequestStore, scope: Scope, who: str) -> list[dict[str, str]]:
    return [
        store.request(scope, method="GET", path="/health", status=200, duration_ms=2),
        store.request(scope, method="GET", path="/api/a", status=503, duration_ms=1500),
        store.request(scope, method="POST", path="/health", status=500, duration_ms=9),
        store.line(scope, f"{who} started: ERROR nothing wrong"),
        store.line(scope, json.dumps({"level": "error", "msg": who, "user": {"id": 7}})),
    ]


written = written_for_members(rows_of)


def lines(client: TestClient, member: Member, q: str, **params: str) -> list[str]:
    response = client.get(
        f"/api/v1/projects/{member.project_slug}/logs",
        params={"q": q, "since": "1h", "limit": "100", **params},
        headers=bearer(member.token),
    )
    assert response.status_code == 200, response.text
    return sorted(item["line"] for item in response.json()["items"])


def test_q_filters_requests_by_status_and_path(client: TestClient, written: TwoTeams) -> None:
    alice = written.alice
    assert lines(client, alice, "status:>=500 -path:/health*") == ["GET /api/a 503 1500ms"]
    assert lines(client, alice, "status:5xx method:post") == ["POST /health 500 9ms"]
    assert lines(client, alice, "duration:>1s OR duration:<5ms") == [
        "GET /api/a 503 1500ms",
        "GET /health 200 2ms",
    ]
    assert lines(client, alice, "source:request -status:5xx") == ["GET /health 200 2ms"]
    assert lines(client, alice, 'json.user.id:7 json.msg:"alice"') == [
        '{"level": "error", "msg": "alice", "user": {"id": 7}}'
    ]
    # A top-level level: keeps the level drop-down's meaning (the detected level).
    assert lines(client, alice, "level:error") == [
        "alice started: ERROR nothing wrong",
        '{"level": "error", "msg": "alice", "user": {"id": 7}}',
    ]


def test_environment_by_name_and_deployment_by_prefix(
    client: TestClient, written: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice = written.alice
    with sessions() as session:
        env = session.get(Environment, only_environment_id(sessions, alice.project_id))
        assert env is not None
        name = env.name
    prefix = alice.deployment_id[:6]
    got = lines(client, alice, f"environment:{name} deployment:{prefix} started")
    assert got == ["alice started: ERROR nothing wrong"]


@pytest.mark.parametrize(
    "q",
    [
        "bob",
        "json.msg:bob",
        'project_id:"' + "x" + '"',
        '"} or _stream:{project_id=~\\".*\\"} or {"',
        "-alice",
        "NOT (alice OR status:200)",
    ],
)
def test_another_teams_lines_never_come_back(client: TestClient, written: TwoTeams, q: str) -> None:
    got = lines(client, written.alice, q)
    assert not any("bob" in line for line in got), got


@pytest.mark.parametrize("suffix", ["", "/tail"])
def test_a_bad_query_is_a_400_naming_the_column(
    client: TestClient, written: TwoTeams, suffix: str
) -> None:
    alice = written.alice
    response = client.get(
        f"/api/v1/projects/{alice.project_slug}/logs{suffix}",
        params={"q": "level:error status:"},
        headers=bearer(alice.token),
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "column 20: expected a value after 'status:'"


def test_tail_takes_q(client: TestClient, written: TwoTeams) -> None:
    alice = written.alice
    url = f"/api/v1/projects/{alice.project_slug}/logs/tail"
    with client.stream(
        "GET", url, params={"q": "status:>=500 -path:/health*", "cursor": "0:"},
        headers=bearer(alice.token),
    ) as response:  # fmt: skip
        assert response.status_code == 200
        first = json.loads(next(response.iter_lines()))
    assert first["line"] == "GET /api/a 503 1500ms"
