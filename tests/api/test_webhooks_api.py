"""The webhook's API: owners create and rotate (the secret shown once), members read the
address and the deliveries, other teams get 404; and devpush's generic form."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.crypto import fernet_for
from devpush.models import DeploymentStatus, Project
from devpush.services.webhooks.secret import webhook_secret
from tests.fixtures.web import SECRET_KEY, TwoTeams, deployment_of, project_row
from tests.forges.hooks import SHA_A, SHA_B, Hook, auth, create_hook, hex_hmac, post

pytestmark = pytest.mark.both_databases


def generic(
    client: TestClient, hook: Hook, payload: object, *, delivery: str, secret: str | None = None
) -> dict[str, object]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hex_hmac(secret or hook.secret, body)
    response = post(
        client, hook, body, {"X-Devpush-Signature": signature, "X-Devpush-Delivery": delivery}
    )
    assert response.status_code < 500, response.text
    return {"status": response.status_code, **response.json()}


def test_owners_create_and_rotate_the_secret_shown_once(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice
    base = f"/api/v1/projects/{alice.project_slug}/webhook"
    assert client.get(base, headers=auth(alice.token)).json() == {"url": None}

    created = client.post(base, headers=auth(alice.token))
    assert created.status_code == 201, created.text
    url, secret = created.json()["url"], created.json()["secret"]
    assert url == f"http://testserver/api/v1/hooks/{alice.project_id}"
    assert len(secret) >= 32
    stored = project_row(sessions, alice.project_id)
    assert secret not in (stored.webhook_secret_encrypted or "")
    assert webhook_secret(stored, fernet=fernet_for(SECRET_KEY)) == secret

    shown = client.get(base, headers=auth(alice.token))
    assert shown.json() == {"url": url}
    assert secret not in shown.text

    rotated = client.post(base, headers=auth(alice.token)).json()
    assert rotated["url"] == url
    assert rotated["secret"] != secret
    # The old secret stops working at once.
    hook = Hook(path=f"/api/v1/hooks/{alice.project_id}", secret=secret, project_id="")
    old = generic(client, hook, {"branch": "main", "commit": SHA_A}, delivery="x1")
    assert old["status"] == 401


def test_only_owners_rotate_and_other_teams_get_404(
    client: TestClient, two_teams: TwoTeams, carol_token: str
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    base = f"/api/v1/projects/{alice.project_id}"
    member = client.post(f"{base}/webhook", headers=auth(carol_token))
    assert member.status_code == 403, member.text
    assert client.get(f"{base}/webhook", headers=auth(carol_token)).status_code == 200
    assert client.get(f"{base}/deliveries", headers=auth(carol_token)).status_code == 200
    for method, path in (
        ("POST", f"{base}/webhook"),
        ("GET", f"{base}/webhook"),
        ("GET", f"{base}/deliveries"),
    ):
        response = client.request(method, path, headers=auth(bob.token))
        assert response.status_code == 404, (method, path, response.text)


def test_members_read_the_deliveries_newest_first(
    client: TestClient, two_teams: TwoTeams, carol_token: str
) -> None:
    hook = create_hook(client, two_teams.alice)
    generic(client, hook, {"branch": "main", "commit": SHA_A}, delivery="g-1")
    generic(client, hook, {"branch": "main", "commit": SHA_B}, delivery="g-2", secret="wrong")
    response = client.get(
        f"/api/v1/projects/{two_teams.alice.project_slug}/deliveries", headers=auth(carol_token)
    )
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [row["result"] for row in rows] == ["refused", "deployed"]
    assert set(rows[0]) == {
        "id",
        "delivery",
        "received_at",
        "forge",
        "event",
        "branch",
        "commit",
        "result",
        "reason",
        "deployment_id",
    }
    assert rows[1]["commit"] == SHA_A
    assert rows[1]["deployment_id"]
    assert rows[0]["reason"] == "the signature does not match the webhook's secret"
    assert hook.secret not in response.text


def test_the_generic_form(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    hook = create_hook(client, two_teams.alice)
    first = generic(client, hook, {"branch": "feature", "commit": SHA_B}, delivery="ci-41")
    assert first["status"] == 202
    assert first["delivery"] == "ci-41"
    assert first["result"] == "deployed"
    deployment = deployment_of(sessions, str(first["deployment_id"]))
    assert (deployment.branch, deployment.requested_commit) == ("feature", SHA_B)
    assert deployment.status is DeploymentStatus.QUEUED
    again = generic(client, hook, {"branch": "feature", "commit": SHA_B}, delivery="ci-41")
    assert again == {**first, "status": 200}

    short = generic(client, hook, {"branch": "main", "commit": "abc123"}, delivery="ci-42")
    assert short["status"] == 422
    assert "full commit id" in str(short["reason"])
    missing = generic(client, hook, {"commit": SHA_A}, delivery="ci-43")
    assert missing["status"] == 422
    assert "'branch'" in str(missing["reason"])
    listed = generic(client, hook, ["main", SHA_A], delivery="ci-44")
    assert listed["status"] == 400
    long_branch = generic(client, hook, {"branch": "b" * 256, "commit": SHA_A}, delivery="ci-46")
    assert long_branch["status"] == 422
    assert "over 255 characters" in str(long_branch["reason"])
    bad_branch = generic(client, hook, {"branch": "a..b", "commit": SHA_A}, delivery="ci-45")
    assert bad_branch["status"] == 422
    assert bad_branch["result"] == "refused"


def test_a_call_without_any_forge_header_is_401(client: TestClient, two_teams: TwoTeams) -> None:
    hook = create_hook(client, two_teams.alice)
    response = post(client, hook, b'{"branch": "main"}', {})
    assert response.status_code == 401, response.text
    assert "no signature" in response.json()["reason"]


def test_a_secret_that_no_longer_decrypts_is_refused_not_a_500(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    hook = create_hook(client, two_teams.alice)
    with sessions() as session:
        project = session.get(Project, two_teams.alice.project_id)
        assert project is not None
        # Encrypted under another server's key.
        project.webhook_secret_encrypted = fernet_for("another key").encrypt(b"x").decode()
        session.commit()
    answer = generic(client, hook, {"branch": "main", "commit": SHA_A}, delivery="k-1")
    assert answer["status"] == 401
    assert "rotate the secret" in str(answer["reason"])
