"""An environment's replica count over the API:
``PATCH /api/v1/projects/<ref>/environments/<environment>`` ``{"replicas": n}``."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from devpush.core.config import Settings
from tests.fixtures.web import TwoTeams, bearer


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def test_replicas_default_to_one_and_change_in_swarm_mode(
    client: TestClient, two_teams: TwoTeams, settings: Settings
) -> None:
    alice = two_teams.alice
    project = client.get(f"/api/v1/projects/{alice.project_slug}", headers=bearer(alice.token))
    (environment,) = project.json()["environments"]
    assert environment["replicas"] == 1
    settings.swarm = True
    url = f"/api/v1/projects/{alice.project_slug}/environments/{environment['name']}"
    answer = client.patch(url, json={"replicas": 2}, headers=bearer(alice.token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["replicas"] == 2
    project = client.get(f"/api/v1/projects/{alice.project_slug}", headers=bearer(alice.token))
    assert project.json()["environments"][0]["replicas"] == 2


def test_a_single_server_refuses_more_than_one(client: TestClient, two_teams: TwoTeams) -> None:
    alice = two_teams.alice
    url = f"/api/v1/projects/{alice.project_slug}/environments/production"
    answer = client.patch(url, json={"replicas": 2}, headers=bearer(alice.token))
    assert answer.status_code == 409, answer.text
    assert "replicas need swarm mode" in answer.json()["detail"]
    assert client.patch(url, json={"replicas": 1}, headers=bearer(alice.token)).status_code == 200


@pytest.mark.parametrize("body", [{"replicas": 0}, {"replicas": 11}, {"replicas": "x"}, {}])
def test_a_bad_count_is_a_422(
    client: TestClient, two_teams: TwoTeams, settings: Settings, body: dict[str, object]
) -> None:
    settings.swarm = True
    alice = two_teams.alice
    url = f"/api/v1/projects/{alice.project_slug}/environments/production"
    answer = client.patch(url, json=body, headers=bearer(alice.token))
    assert answer.status_code == 422, answer.text


def test_unknown_environment_fields_and_projects(client: TestClient, two_teams: TwoTeams) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    base = f"/api/v1/projects/{alice.project_slug}/environments"
    headers = bearer(alice.token)
    assert client.patch(f"{base}/nope", json={"replicas": 1}, headers=headers).status_code == 404
    answer = client.patch(f"{base}/production", json={"replicas": 1, "x": 1}, headers=headers)
    assert answer.status_code == 422
    # Another team's project is not found for Bob.
    other = f"/api/v1/projects/{alice.project_id}/environments/production"
    assert client.patch(other, json={"replicas": 1}, headers=bearer(bob.token)).status_code == 404
