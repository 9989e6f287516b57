"""Log drains in Debian's Chromium: add an https drain on the settings page, see its
secret once, send a test line and see it arrive (signed) at a real receiver."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from devpush.services.drains.senders import SIGNATURE_HEADER, signature
from tests.fixtures.web import TwoTeams
from tests.utils.drains import wait_for
from tests.utils.notify import HttpReceiver


@pytest.mark.browser
def test_add_a_drain_and_see_its_test_line_arrive(
    alice_page: Page, live_url: str, two_teams: TwoTeams, receiver: HttpReceiver
) -> None:
    alice = two_teams.alice
    alice_page.goto(f"{live_url}/projects/{alice.project_slug}/settings#drains")
    form = alice_page.locator("#add-drain")
    form.locator("select[name=kind]").select_option("https")
    form.locator("input[name=url]").fill(f"{receiver.url}/drain")
    form.locator("input[name=sources][value=request]").uncheck()
    form.locator("button:has-text('Add drain')").click()
    expect(alice_page.locator("#drain-secret")).to_contain_text("shown once")
    secret = alice_page.locator("#drain-secret-value").inner_text().strip()
    row = alice_page.locator("#drain-list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{receiver.url}/drain")
    expect(row).to_contain_text("stdout, stderr")
    expect(row.locator(".drain-status")).to_have_text("new")

    row.locator("button:has-text('Send a test line')").click()
    request = wait_for("the test line", lambda: receiver.on("/drain"), timeout=15)[0]
    assert request.headers[SIGNATURE_HEADER] == signature(secret, request.body)
    record = json.loads(request.body)
    assert record["source"] == "test"
    assert record["projectId"] == alice.project_id
    expect(alice_page.locator("#drain-list .drain-status")).to_have_text("ok")
    expect(alice_page.locator("#drain-secret")).to_have_count(0)  # shown once only
