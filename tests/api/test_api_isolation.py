"""With team A's token, team B's projects, deployments and tokens are 404."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import DeploymentStatus
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import TwoTeams, deployment_of, pending

pytestmark = pytest.mark.both_databases


def test_team_a_token_cannot_reach_team_b(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue, sessions: sessionmaker[Session]
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    headers = {"Authorization": f"Bearer {alice.token}"}
    enqueued = len(pending(queue))
    # Same slug in both teams: Alice's token resolves it to her project only.
    shop = client.get(f"/api/v1/projects/{bob.project_slug}", headers=headers).json()
    assert shop["id"] == alice.project_id
    for method, path in [
        ("GET", f"/api/v1/projects/{bob.project_id}"),
        ("GET", f"/api/v1/projects/{bob.project_id}/deployments"),
        ("POST", f"/api/v1/projects/{bob.project_id}/deployments"),
        ("GET", f"/api/v1/deployments/{bob.deployment_id}"),
        ("POST", f"/api/v1/deployments/{bob.deployment_id}/redeploy"),
        ("POST", f"/api/v1/deployments/{bob.deployment_id}/cancel"),
    ]:
        kwargs = {"json": {}} if method == "POST" else {}
        response = client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == 404, (method, path)
    assert len(pending(queue)) == enqueued
    assert deployment_of(sessions, bob.deployment_id).status is DeploymentStatus.QUEUED
    bob_token_id = client.get(
        "/api/v1/tokens", headers={"Authorization": f"Bearer {bob.token}"}
    ).json()[0]["id"]
    assert client.delete(f"/api/v1/tokens/{bob_token_id}", headers=headers).status_code == 404
