"""POST /projects/<ref>/rollback and .../environments/<env>/resume (no worker runs here)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import Deployment, DeploymentStatus, TeamMember, TeamRole
from devpush.services.tokens import create_token
from devpush.services.users import create_user
from devpush.workers.queue import DeployQueue
from tests.api.ran_deployments import became_running, ran, ran_twice
from tests.fixtures.web import PASSWORD, TwoTeams, bearer, deployment_of, pending


def member_token(sessions: sessionmaker[Session], team_id: str) -> str:
    with sessions() as session:
        user = create_user(session, email="member@example.org", password=PASSWORD)
        session.add(TeamMember(team_id=team_id, user=user, role=TeamRole.MEMBER))
        _, token = create_token(session, user=user, name="member")
        session.commit()
    return token


def test_a_member_rolls_back_and_resumes_auto_deploys(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice
    first_id, second = ran_twice(sessions, queue, alice)
    headers = bearer(member_token(sessions, alice.team_id))

    shown = client.get(f"/api/v1/deployments/{first_id}", headers=headers).json()
    assert (shown["trigger"], shown["can_rollback"], shown["rollback_of_id"]) == (
        "manual",
        True,
        None,
    )
    response = client.post(
        f"/api/v1/projects/{alice.project_slug}/rollback",
        json={"deployment_id": first_id},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    back = response.json()
    assert (back["status"], back["trigger"], back["rollback_of_id"]) == (
        "queued",
        "rollback",
        first_id,
    )
    assert (back["commit_sha"], back["commit_message"], back["can_rollback"]) == (
        "a" * 40,
        "First",
        False,
    )
    assert pending(queue)[-1] == ("devpush.deploy", (back["id"],))
    detail = client.get(f"/api/v1/projects/{alice.project_id}", headers=headers).json()
    assert detail["environments"][0]["auto_deploy_paused"] is True

    # The rollback runs: v1's build serves again; rolling back to it once more is refused.
    with sessions() as session:
        rolled_back = session.get(Deployment, back["id"])
        assert rolled_back is not None
        became_running(session, rolled_back, kept=False)
    assert deployment_of(sessions, second).status is DeploymentStatus.SUPERSEDED
    response = client.post(
        f"/api/v1/projects/{alice.project_slug}/rollback",
        json={"deployment_id": first_id},
        headers=headers,
    )
    assert (response.status_code, response.json()["detail"]) == (
        409,
        "this deployment's build is already serving",
    )
    # Without a deployment: the production environment's newest kept build before it.
    response = client.post(
        f"/api/v1/projects/{alice.project_slug}/rollback", json={}, headers=headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["rollback_of_id"] == second

    response = client.post(
        f"/api/v1/projects/{alice.project_slug}/environments/production/resume", headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["auto_deploy_paused"] is False
    missing = client.post(
        f"/api/v1/projects/{alice.project_slug}/environments/nope/resume", headers=headers
    )
    assert missing.status_code == 404


def test_refusals(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue, sessions: sessionmaker[Session]
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    headers = bearer(alice.token)
    url = f"/api/v1/projects/{alice.project_slug}/rollback"
    # Never ran (queued): 409.
    response = client.post(url, json={"deployment_id": alice.deployment_id}, headers=headers)
    assert (response.status_code, response.json()["detail"]) == (
        409,
        "only a deployment that ran can be rolled back to",
    )
    # Ran, but its build is no longer kept: 409.
    with sessions() as session:
        first = session.get(Deployment, alice.deployment_id)
        assert first is not None
        became_running(session, first, kept=False)
    ran(sessions, queue, alice.project_id)
    response = client.post(url, json={"deployment_id": alice.deployment_id}, headers=headers)
    assert response.status_code == 409
    assert "no longer kept" in response.json()["detail"]
    # Nothing earlier to roll back to by default: 409.
    response = client.post(url, json={}, headers=headers)
    assert response.status_code == 409
    # Another team's deployment, another team's project, an unknown id: 404.
    response = client.post(url, json={"deployment_id": bob.deployment_id}, headers=headers)
    assert (response.status_code, response.json()["detail"]) == (404, "deployment not found")
    response = client.post(
        f"/api/v1/projects/{bob.project_id}/rollback",
        json={"deployment_id": bob.deployment_id},
        headers=headers,
    )
    assert response.status_code == 404
    response = client.post(
        f"/api/v1/projects/{bob.project_id}/environments/production/resume", headers=headers
    )
    assert response.status_code == 404
    response = client.post(url, json={"deployment_id": "nope"}, headers=headers)
    assert response.status_code == 404
    # An unknown field: 422.
    response = client.post(url, json={"deployment": alice.deployment_id}, headers=headers)
    assert response.status_code == 422
    assert "deployment" in response.text
