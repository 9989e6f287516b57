"""Rollback in the web app without a worker: the confirmation, the refusals, resume."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import DeployTrigger
from devpush.workers.queue import DeployQueue
from tests.api.ran_deployments import ran_twice
from tests.fixtures.web import TwoTeams, deployment_of, log_in, pending


def test_roll_back_confirm_refuse_and_resume(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue, sessions: sessionmaker[Session]
) -> None:
    token = log_in(client, "alice@example.org")
    alice, bob = two_teams.alice, two_teams.bob
    slug = alice.project_slug
    base = f"/projects/{slug}/deployments/{alice.deployment_id}"
    # Queued, never ran: no button, the confirmation says why, the POST is refused.
    assert "Roll back to this" not in client.get(base).text
    assert "cannot be rolled back to" in client.get(f"{base}/rollback").text
    refused = client.post(f"{base}/rollback", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "only a deployment that ran" in refused.text
    # Without the CSRF token: refused before anything happens.
    assert client.post(f"{base}/rollback", data={}).status_code in (400, 403)

    ran_twice(sessions, queue, alice)
    assert "Roll back to this" in client.get(base).text
    assert "Roll back to this" in client.get(f"/projects/{slug}").text
    confirm = client.get(f"{base}/rollback")
    assert "Pushes stop deploying to <strong>production</strong>" in confirm.text
    response = client.post(f"{base}/rollback", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    back_id = response.headers["location"].rsplit("/", 1)[1]
    assert pending(queue)[-1] == ("devpush.deploy", (back_id,))
    back = deployment_of(sessions, back_id)
    assert (back.trigger, back.rollback_of_id) == (DeployTrigger.ROLLBACK, alice.deployment_id)
    assert "Rollback of" in client.get(response.headers["location"]).text
    project_page = client.get(f"/projects/{slug}").text
    assert "Auto-deploys paused after a rollback" in project_page

    # Another team's deployment and environment: 404.
    other = f"/projects/{slug}/deployments/{bob.deployment_id}/rollback"
    assert client.post(other, data={"csrf_token": token}).status_code == 404
    assert client.get(other).status_code == 404
    resume = f"/projects/{slug}/environments/{back.environment_id}/resume"
    assert (
        client.post(
            f"/projects/{bob.project_slug}-x/environments/production/resume",
            data={"csrf_token": token},
        ).status_code
        == 404
    )
    response = client.post(resume, data={"csrf_token": token}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, f"/projects/{slug}")
    assert "Auto-deploys paused" not in client.get(f"/projects/{slug}").text
