from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import DeploymentStatus
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import PASSWORD, TwoTeams, bearer, deployment_of, pending
from tests.utils.git import make_repo

NEW_PROJECT = {
    "name": "API made",
    "repo_url": "/srv/repos/api-made",
    "start_command": "python3 app.py",
    "runner_image": "devpush/runner-python:local",
    "port": 3000,
    "env_vars": {"TOKEN": "api-secret-value"},
}


@pytest.fixture(autouse=True)
def real_repo(tmp_path: Path) -> None:
    # Creation checks the repository with git: point at a real one.
    NEW_PROJECT["repo_url"] = str(make_repo(tmp_path / "api-made"))


def test_token_exchange_and_revocation(client: TestClient, two_teams: TwoTeams) -> None:
    bad = {"email": "alice@example.org", "password": "wrong"}
    assert client.post("/api/v1/tokens", json=bad).status_code == 401
    response = client.post(
        "/api/v1/tokens", json={"email": "alice@example.org", "password": PASSWORD, "name": "cli"}
    )
    assert response.status_code == 201
    created = response.json()
    assert created["token"].startswith(created["prefix"])
    me = client.get("/api/v1/me", headers=bearer(created["token"])).json()
    assert me["email"] == "alice@example.org"
    assert [t["slug"] for t in me["teams"]] == ["team-a"]
    tokens = client.get("/api/v1/tokens", headers=bearer(created["token"])).json()
    names = [t["name"] for t in tokens]
    assert sorted(names) == ["cli", "tests"]
    response = client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(created["token"]))
    assert response.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(created["token"])).status_code == 401


def test_no_or_bad_token_is_401(client: TestClient, two_teams: TwoTeams) -> None:
    for headers in ({}, bearer("dp_not-a-token")):
        response = client.get("/api/v1/projects", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_session_cookie_does_not_authenticate_the_api(
    client: TestClient, two_teams: TwoTeams
) -> None:
    from tests.fixtures.web import log_in

    log_in(client, "alice@example.org")
    assert client.get("/api/v1/projects").status_code == 401


def test_projects_list_detail_create(client: TestClient, two_teams: TwoTeams) -> None:
    alice = two_teams.alice
    headers = bearer(alice.token)
    projects = client.get("/api/v1/projects", headers=headers).json()
    assert [p["id"] for p in projects] == [alice.project_id]
    for ref in (alice.project_id, alice.project_slug):
        detail = client.get(f"/api/v1/projects/{ref}", headers=headers).json()
        assert detail["id"] == alice.project_id
        assert detail["env_var_names"] == ["SECRET_TOKEN"]
        assert "s3cr3t-value" not in str(detail)
        assert [e["name"] for e in detail["environments"]] == ["production"]

    response = client.post("/api/v1/projects", json=NEW_PROJECT, headers=headers)
    assert response.status_code == 201, response.text
    assert (response.json()["slug"], response.json()["host_label"]) == ("api-made", "api-made")
    assert response.json()["env_var_names"] == ["TOKEN"]
    assert client.post("/api/v1/projects", json=NEW_PROJECT, headers=headers).status_code == 409
    invalid = {**NEW_PROJECT, "slug": "other", "repo_url": "http://insecure.example.org/x"}
    response = client.post("/api/v1/projects", json=invalid, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "repo_url"]
    other_team = {**NEW_PROJECT, "slug": "elsewhere", "team": two_teams.bob.team_slug}
    assert client.post("/api/v1/projects", json=other_team, headers=headers).status_code == 404


def test_deploy_redeploy_cancel(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice
    headers = bearer(alice.token)
    response = client.post(
        f"/api/v1/projects/{alice.project_slug}/deployments", json={}, headers=headers
    )
    assert response.status_code == 201
    deployment = response.json()
    assert (deployment["branch"], deployment["status"]) == ("main", "queued")
    assert pending(queue)[-1] == ("devpush.deploy", (deployment["id"],))

    listed = client.get(f"/api/v1/projects/{alice.project_id}/deployments", headers=headers)
    assert deployment["id"] in [d["id"] for d in listed.json()]
    detail = client.get(f"/api/v1/deployments/{deployment['id']}", headers=headers).json()
    assert detail["status"] == "queued"

    response = client.post(f"/api/v1/deployments/{deployment['id']}/redeploy", headers=headers)
    assert response.status_code == 201
    assert pending(queue)[-1] == ("devpush.deploy", (response.json()["id"],))

    response = client.post(f"/api/v1/deployments/{deployment['id']}/cancel", headers=headers)
    assert response.json()["status"] == "stopped"
    assert deployment_of(sessions, deployment["id"]).status is DeploymentStatus.STOPPED

    bad = client.post(
        f"/api/v1/projects/{alice.project_id}/deployments",
        json={"branch": "no..dots"},
        headers=headers,
    )
    assert bad.status_code == 422


def test_openapi_documents_the_api(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v1/projects/{project_ref}/deployments" in paths
    assert "/login" not in paths  # the web pages are not part of the API
    get_deployment = paths["/api/v1/deployments/{deployment_id}"]["get"]
    assert get_deployment["tags"] == ["deployments"]
    assert "DeploymentPublic" in str(get_deployment["responses"]["200"])
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
