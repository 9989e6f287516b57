"""The webhook in the web app: the settings section, the secret shown once after a create
or rotate (owners only), and the Deliveries page (the whole team; other teams 404)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.crypto import fernet_for
from devpush.services.webhooks.secret import webhook_secret
from tests.fixtures.web import SECRET_KEY, Member, TwoTeams, add_carol, log_in, project_row
from tests.forges.hooks import SHA_A, Hook, hex_hmac, post


def test_an_owner_creates_the_webhook_and_sees_the_secret_once(
    client: TestClient, alice: Member, csrf: str, sessions: sessionmaker[Session]
) -> None:
    settings = client.get(f"/projects/{alice.project_slug}/settings")
    assert "Create webhook" in settings.text

    created = client.post(
        f"/projects/{alice.project_slug}/settings/webhook", data={"csrf_token": csrf}
    )
    assert created.status_code == 200, created.text
    secret = webhook_secret(project_row(sessions, alice.project_id), fernet=fernet_for(SECRET_KEY))
    assert secret is not None and secret in created.text
    url = f"http://testserver/api/v1/hooks/{alice.project_id}"
    assert url in created.text

    again = client.get(f"/projects/{alice.project_slug}/settings")
    assert url in again.text
    assert "Rotate secret" in again.text
    assert secret not in again.text

    # Without the CSRF token: refused.
    refused = client.post(f"/projects/{alice.project_slug}/settings/webhook")
    assert refused.status_code == 403


def test_members_read_deliveries_but_do_not_rotate(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice
    add_carol(sessions, two_teams)
    csrf = log_in(client, "carol@example.org")
    page = client.get(f"/projects/{alice.project_slug}/settings")
    assert "Create webhook" not in page.text
    assert "an owner of the team can create one" in page.text
    rotate = client.post(
        f"/projects/{alice.project_slug}/settings/webhook", data={"csrf_token": csrf}
    )
    assert rotate.status_code == 403
    assert client.get(f"/projects/{alice.project_slug}/deliveries").status_code == 200


def test_the_deliveries_page(
    client: TestClient, alice: Member, csrf: str, sessions: sessionmaker[Session]
) -> None:
    client.post(f"/projects/{alice.project_slug}/settings/webhook", data={"csrf_token": csrf})
    secret = webhook_secret(project_row(sessions, alice.project_id), fernet=fernet_for(SECRET_KEY))
    assert secret is not None
    hook = Hook(path=f"/api/v1/hooks/{alice.project_id}", secret=secret, project_id="")
    body = json.dumps({"branch": "main", "commit": SHA_A}).encode()
    signature = "sha256=" + hex_hmac(secret, body)
    deployed = post(client, hook, body, {"X-Devpush-Signature": signature})
    assert deployed.status_code == 202, deployed.text
    deployment_id = deployed.json()["deployment_id"]

    page = client.get(f"/projects/{alice.project_slug}/deliveries")
    assert page.status_code == 200
    assert SHA_A[:8] in page.text
    assert f"/projects/{alice.project_slug}/deployments/{deployment_id}" in page.text
    assert "deploying" in page.text
    assert (
        f"/projects/{alice.project_slug}/deliveries"
        in client.get(f"/projects/{alice.project_slug}").text
    )


def test_other_teams_get_404(client: TestClient, two_teams: TwoTeams) -> None:
    csrf = log_in(client, two_teams.bob.email)
    slug = two_teams.alice.project_id
    assert client.get(f"/projects/{slug}/deliveries").status_code == 404
    response = client.post(f"/projects/{slug}/settings/webhook", data={"csrf_token": csrf})
    assert response.status_code == 404
