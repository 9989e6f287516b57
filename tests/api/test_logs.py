"""The logs API with the log store down (a closed loopback port), validation and team isolation."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.web import TwoTeams, bearer, only_environment_id


def test_page_with_loki_down_is_503_with_a_message(client: TestClient, two_teams: TwoTeams) -> None:
    alice = two_teams.alice
    response = client.get(
        f"/api/v1/projects/{alice.project_slug}/logs",
        params={"deployment": alice.deployment_id, "q": "x", "limit": 10},
        headers=bearer(alice.token),
    )
    assert response.status_code == 503
    assert "cannot reach the log store right now" in response.json()["detail"]


def test_tail_reports_loki_down_as_ndjson_or_sse(client: TestClient, two_teams: TwoTeams) -> None:
    alice = two_teams.alice
    url = f"/api/v1/projects/{alice.project_id}/logs/tail"
    response = client.get(url, params={"cursor": f"{time.time_ns()}:"}, headers=bearer(alice.token))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == 1
    assert "cannot reach the log store right now" in lines[0]["error"]

    response = client.get(url, headers={**bearer(alice.token), "Accept": "text/event-stream"})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "event: error" in response.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "(", "regex": "true"}, "invalid regular expression"),
        ({"since": "soon"}, "since: expected a duration"),
        ({"stream": "stdin"}, "stream: must be one of"),
        ({"cursor": "not-a-cursor"}, "malformed log cursor"),
    ],
)
def test_bad_queries_are_422(
    client: TestClient, two_teams: TwoTeams, params: dict[str, str], message: str
) -> None:
    alice = two_teams.alice
    for suffix in ("", "/tail"):
        response = client.get(
            f"/api/v1/projects/{alice.project_slug}/logs{suffix}",
            params=params,
            headers=bearer(alice.token),
        )
        assert response.status_code == 422, suffix
        assert message in response.json()["detail"]


def test_limit_is_bounded(client: TestClient, two_teams: TwoTeams) -> None:
    alice = two_teams.alice
    for limit in (0, 5001):
        response = client.get(
            f"/api/v1/projects/{alice.project_slug}/logs",
            params={"limit": limit},
            headers=bearer(alice.token),
        )
        assert response.status_code == 422


def test_another_teams_logs_are_not_found(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    bob_env = only_environment_id(sessions, bob.project_id)
    own = f"/api/v1/projects/{alice.project_id}/logs"
    for suffix in ("", "/tail"):
        for path, params in [
            (f"/api/v1/projects/{bob.project_id}/logs{suffix}", {}),
            (f"{own}{suffix}", {"deployment": bob.deployment_id}),
            (f"{own}{suffix}", {"environment": bob_env}),
        ]:
            response = client.get(path, params=params, headers=bearer(alice.token))
            assert response.status_code == 404, (path, params)
    assert client.get(own).status_code == 401
