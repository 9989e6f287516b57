"""A user of team A gets 404 for everything of team B, however it is addressed."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.crypto import fernet_for
from devpush.models import DeploymentStatus, Team
from devpush.services.projects import create_project
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import SECRET_KEY, TwoTeams, deployment_of, log_in, pending, project_input

pytestmark = pytest.mark.both_databases


def test_another_teams_objects_are_not_found(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue, sessions: sessionmaker[Session]
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    with sessions() as session:
        team_b = session.get(Team, bob.team_id)
        assert team_b is not None
        secret = create_project(
            session, team=team_b, data=project_input("Bob Secret"), fernet=fernet_for(SECRET_KEY)
        )
        session.commit()
    token = log_in(client, alice.email)
    enqueued = len(pending(queue))

    # Reading: by id, by slug, the polled partials, a deployment under Alice's own project.
    for path in [
        f"/projects/{bob.project_id}",
        f"/projects/{secret.slug}",
        f"/projects/{secret.id}/deployments",
        f"/projects/{bob.project_id}/deployments/{bob.deployment_id}",
        f"/projects/{alice.project_slug}/deployments/{bob.deployment_id}",
        f"/projects/{alice.project_slug}/deployments/{bob.deployment_id}/status",
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Bob Secret" not in response.text
    # Same slug in both teams: Alice sees her own project, never Bob's.
    page = client.get(f"/projects/{alice.project_slug}").text
    assert alice.deployment_id in page
    assert bob.deployment_id not in page

    # Writing: deploy, redeploy and cancel of Bob's objects through any URL.
    for path in [
        f"/projects/{bob.project_id}/deployments",
        f"/projects/{secret.slug}/deployments",
        f"/projects/{bob.project_id}/deployments/{bob.deployment_id}/redeploy",
        f"/projects/{bob.project_id}/deployments/{bob.deployment_id}/cancel",
        f"/projects/{alice.project_slug}/deployments/{bob.deployment_id}/redeploy",
        f"/projects/{alice.project_slug}/deployments/{bob.deployment_id}/cancel",
    ]:
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    assert len(pending(queue)) == enqueued
    assert deployment_of(sessions, bob.deployment_id).status is DeploymentStatus.QUEUED


def test_tampered_form_fields_are_not_found(client: TestClient, two_teams: TwoTeams) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    token = log_in(client, alice.email)
    # The team switcher with Bob's team id.
    response = client.post("/teams/switch", data={"team_id": bob.team_id, "csrf_token": token})
    assert response.status_code == 404
    page = client.get("/projects")
    assert "Team A" in page.text
    assert bob.project_id not in page.text
    # Revoking Bob's API token by its id.
    with TestClient(client.app) as api:
        bob_tokens = api.get(
            "/api/v1/tokens", headers={"Authorization": f"Bearer {bob.token}"}
        ).json()
    response = client.post(
        f"/settings/tokens/{bob_tokens[0]['id']}/revoke", data={"csrf_token": token}
    )
    assert response.status_code == 404
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {bob.token}"})
    assert me.status_code == 200
