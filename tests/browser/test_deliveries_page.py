"""The Deliveries page in Debian's Chromium: a deployed and a refused delivery, each with
its reason, the deployed one linking to its deployment; and the secret's copy button."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.crypto import fernet_for
from devpush.services.webhooks.secret import webhook_secret
from tests.fixtures.web import SECRET_KEY, TwoTeams, project_row
from tests.forges.hooks import SHA_A, SHA_B, hex_hmac


def _call(live_url: str, project_id: str, secret: str, payload: object) -> httpx.Response:
    body = json.dumps(payload).encode()
    return httpx.post(
        f"{live_url}/api/v1/hooks/{project_id}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Devpush-Signature": "sha256=" + hex_hmac(secret, body),
        },
        timeout=10,
    )


@pytest.mark.browser
def test_deliveries_page_shows_deployed_and_refused(
    alice_page: Page, live_url: str, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice

    # Create the webhook from the settings page: the secret is shown once.
    alice_page.goto(f"{live_url}/projects/{alice.project_slug}/settings")
    alice_page.click("#webhook button:has-text('Create webhook')")
    expect(alice_page.locator("#webhook-secret")).to_contain_text("not shown again")
    secret = alice_page.locator("#webhook-secret-value").inner_text().strip()
    stored = webhook_secret(project_row(sessions, alice.project_id), fernet=fernet_for(SECRET_KEY))
    assert secret == stored
    expect(alice_page.locator("#webhook-url")).to_have_text(
        f"{live_url}/api/v1/hooks/{alice.project_id}"
    )
    alice_page.click("#copy-secret")
    expect(alice_page.locator("#copy-secret")).not_to_have_text("Copy")

    deployed = _call(live_url, alice.project_id, secret, {"branch": "main", "commit": SHA_A})
    assert deployed.status_code == 202, deployed.text
    refused = _call(live_url, alice.project_id, "wrong", {"branch": "main", "commit": SHA_B})
    assert refused.status_code == 401, refused.text

    alice_page.goto(f"{live_url}/projects/{alice.project_slug}")
    alice_page.click("a:has-text('Deliveries')")
    alice_page.wait_for_url(f"**/projects/{alice.project_slug}/deliveries")
    rows = alice_page.locator("#deliveries tbody tr")
    expect(rows).to_have_count(2)
    refused_row = alice_page.locator("#deliveries tr[data-result=refused]")
    expect(refused_row).to_contain_text("the signature does not match the webhook's secret")
    deployed_row = alice_page.locator("#deliveries tr[data-result=deployed]")
    expect(deployed_row).to_contain_text(SHA_A[:8])
    expect(deployed_row).to_contain_text("deploying")
    deployed_row.locator("a:has-text('Details')").click()
    alice_page.wait_for_url(f"**/deployments/{deployed.json()['deployment_id']}")
    expect(alice_page.locator("#deployment-status [data-status]")).to_have_text("queued")
