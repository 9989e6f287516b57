"""Project settings, members and users over the API: owners change, members get 403,
another team gets 404 on every route; values of variables never come back."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.crypto import decrypt_mapping, fernet_for
from devpush.models import Deployment, Project
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import (
    SECRET_KEY,
    Member,
    TwoTeams,
    bearer,
    make_admin,
    pending,
    preview_environment,
    project_row,
)

pytestmark = pytest.mark.both_databases


def _calls(ref: str, environment: str) -> list[tuple[str, str, dict | None]]:
    """Every owner-only call of a project, with a valid body."""
    return [
        ("PATCH", f"/api/v1/projects/{ref}", {"port": 9000}),
        ("PATCH", f"/api/v1/projects/{ref}/variables/shared", {"values": {"A": "1"}}),
        ("DELETE", f"/api/v1/projects/{ref}/variables/shared/SECRET_TOKEN", None),
        ("DELETE", f"/api/v1/projects/{ref}/environments/{environment}", None),
        ("DELETE", f"/api/v1/projects/{ref}", None),
    ]


def test_owner_changes_settings_and_variables(
    client: TestClient, alice: Member, sessions: sessionmaker[Session], queue: DeployQueue
) -> None:
    headers = bearer(alice.token)
    url = f"/api/v1/projects/{alice.project_slug}"
    response = client.patch(
        url,
        json={"name": "Shop v2", "start_command": "python3 app.py", "port": 9000},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["slug"], body["port"]) == ("Shop v2", "shop", 9000)
    assert body["start_command"] == "python3 app.py"
    bad = client.patch(url, json={"port": 0, "root_directory": "/abs"}, headers=headers)
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["detail"]} == {"port", "root_directory"}
    assert client.patch(url, json={"slug": "other"}, headers=headers).status_code == 422
    absent = client.patch(url, json={"runner_image": "devpush/absent:none"}, headers=headers)
    assert absent.status_code == 422
    assert "not available on this host" in absent.json()["detail"]
    assert project_row(sessions, alice.project_id).runner_image == "devpush/runner-python:local"

    preview_environment(sessions, queue, alice.project_id)
    response = client.patch(
        f"{url}/variables/feature", json={"values": {"ONLY_PREVIEW": "p-value"}}, headers=headers
    )
    assert response.status_code == 200
    response = client.patch(
        f"{url}/variables/shared", json={"values": {"NEW": "n-value"}}, headers=headers
    )
    assert response.json() == {
        "scopes": {"shared": ["NEW", "SECRET_TOKEN"], "production": [], "feature": ["ONLY_PREVIEW"]}
    }
    assert "n-value" not in response.text
    listed = client.get(f"{url}/variables", headers=headers)
    assert listed.json() == response.json()
    assert (
        client.patch(
            f"{url}/variables/shared", json={"values": {"1BAD": "x"}}, headers=headers
        ).status_code
        == 422
    )
    assert (
        client.patch(
            f"{url}/variables/nope", json={"values": {"A": "x"}}, headers=headers
        ).status_code
        == 404
    )
    assert client.delete(f"{url}/variables/shared/NEW", headers=headers).status_code == 204
    assert client.delete(f"{url}/variables/shared/NEW", headers=headers).status_code == 404
    project = project_row(sessions, alice.project_id)
    assert decrypt_mapping(fernet_for(SECRET_KEY), project.env_vars_encrypted) == {
        "SECRET_TOKEN": "s3cr3t-value"
    }


def test_owner_deletes_environment_and_project(
    client: TestClient, alice: Member, sessions: sessionmaker[Session], queue: DeployQueue
) -> None:
    headers = bearer(alice.token)
    url = f"/api/v1/projects/{alice.project_slug}"
    preview_environment(sessions, queue, alice.project_id)
    assert client.delete(f"{url}/environments/production", headers=headers).status_code == 409
    before = len(pending(queue))
    assert client.delete(f"{url}/environments/feature", headers=headers).status_code == 204
    assert [name for name, _ in pending(queue)[before:]] == ["devpush.stop"]
    assert client.delete(f"{url}/environments/feature", headers=headers).status_code == 404
    before = len(pending(queue))
    assert client.delete(url, headers=headers).status_code == 204
    assert [args for _, args in pending(queue)[before:]] == [(alice.deployment_id,)]
    assert client.get(url, headers=headers).status_code == 404
    with sessions() as session:
        assert session.get(Deployment, alice.deployment_id) is None


def test_another_team_gets_404_and_a_member_403(
    client: TestClient,
    two_teams: TwoTeams,
    carol_token: str,
    sessions: sessionmaker[Session],
    queue: DeployQueue,
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    preview_environment(sessions, queue, bob.project_id)
    preview_environment(sessions, queue, alice.project_id)
    before = len(pending(queue))
    # Alice on Bob's project (by id; his slug is her own project's): 404 everywhere.
    assert (
        client.get(
            f"/api/v1/projects/{bob.project_id}/variables", headers=bearer(alice.token)
        ).status_code
        == 404
    )
    for method, path, body in _calls(bob.project_id, "feature"):
        response = client.request(method, path, json=body, headers=bearer(alice.token))
        assert response.status_code == 404, (method, path)
    # Carol, a member of Alice's team: reads, deploys, and gets 403 on every change.
    headers = bearer(carol_token)
    assert (
        client.get(f"/api/v1/projects/{alice.project_slug}/variables", headers=headers).status_code
        == 200
    )
    for method, path, body in _calls(alice.project_slug, "feature"):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path)
        assert "only an owner" in response.json()["detail"]
    assert len(pending(queue)) == before
    deploy = client.post(
        f"/api/v1/projects/{alice.project_slug}/deployments", json={}, headers=headers
    )
    assert deploy.status_code == 201
    # Members read logs: past the ownership check to the store (down in these tests: 503),
    # where another team's user gets 404.
    logs = f"/api/v1/projects/{alice.project_slug}/logs"
    assert client.get(logs, headers=headers).status_code == 503
    assert (
        client.get(
            f"/api/v1/projects/{alice.project_id}/logs", headers=bearer(bob.token)
        ).status_code
        == 404
    )
    with sessions() as session:
        for project_id in (alice.project_id, bob.project_id):
            project = session.get(Project, project_id)
            assert project is not None and project.port == 8000


def test_members_over_the_api(
    client: TestClient, two_teams: TwoTeams, carol_token: str, sessions: sessionmaker[Session]
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    url = f"/api/v1/teams/{alice.team_slug}/members"
    members = client.get(url, headers=bearer(alice.token)).json()
    assert [(m["email"], m["role"]) for m in members] == [
        ("alice@example.org", "owner"),
        ("carol@example.org", "member"),
    ]
    # Bob's team is not Alice's: 404; Carol (member) may read but not change.
    assert (
        client.get(
            f"/api/v1/teams/{bob.team_slug}/members", headers=bearer(alice.token)
        ).status_code
        == 404
    )
    assert client.get(url, headers=bearer(carol_token)).status_code == 200
    body = {"email": "bob@example.org"}
    assert client.post(url, json=body, headers=bearer(carol_token)).status_code == 403
    # Alice adds Bob (an existing user), makes him owner, then removes him.
    added = client.post(url, json=body, headers=bearer(alice.token))
    assert added.status_code == 201
    assert client.post(url, json=body, headers=bearer(alice.token)).status_code == 409
    unknown = client.post(url, json={"email": "nobody@example.org"}, headers=bearer(alice.token))
    assert unknown.status_code == 404
    bob_id = added.json()["user_id"]
    assert (
        client.get(f"/api/v1/projects/{alice.project_id}", headers=bearer(bob.token)).status_code
        == 200
    )
    promoted = client.patch(f"{url}/{bob_id}", json={"role": "owner"}, headers=bearer(alice.token))
    assert promoted.json()["role"] == "owner"
    assert client.delete(f"{url}/{bob_id}", headers=bearer(alice.token)).status_code == 204
    assert (
        client.get(f"/api/v1/projects/{alice.project_id}", headers=bearer(bob.token)).status_code
        == 404
    )
    # The last owner stays.
    me = client.get("/api/v1/me", headers=bearer(alice.token)).json()
    assert client.delete(f"{url}/{me['id']}", headers=bearer(alice.token)).status_code == 409
    assert (
        client.patch(
            f"{url}/{me['id']}", json={"role": "member"}, headers=bearer(alice.token)
        ).status_code
        == 409
    )


def test_only_admins_add_users(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    body = {"email": "dave@example.org", "password": "dave-password", "team": alice.team_slug}
    assert client.post("/api/v1/users", json=body, headers=bearer(alice.token)).status_code == 403
    make_admin(sessions, alice.user_id)
    created = client.post("/api/v1/users", json=body, headers=bearer(alice.token))
    assert created.status_code == 201, created.text
    assert created.json()["teams"][0]["slug"] == alice.team_slug
    assert client.post("/api/v1/users", json=body, headers=bearer(alice.token)).status_code == 409
    own = client.post(
        "/api/v1/users",
        json={"email": "erin@example.org", "password": "erin-password", "name": "Erin"},
        headers=bearer(alice.token),
    )
    assert own.json()["teams"][0]["name"] == "Erin"
    # Dave logs in and is a member of Alice's team.
    token = client.post(
        "/api/v1/tokens", json={"email": "dave@example.org", "password": "dave-password"}
    ).json()["token"]
    projects = client.get("/api/v1/projects", headers=bearer(token)).json()
    assert [p["id"] for p in projects] == [alice.project_id]
    assert (
        client.patch(
            f"/api/v1/projects/{alice.project_id}", json={"port": 1}, headers=bearer(token)
        ).status_code
        == 403
    )
