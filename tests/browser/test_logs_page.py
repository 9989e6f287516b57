"""The Logs page in Debian's Chromium with the log store down: the form reflects the URL's filters
and the page says the log store is unreachable; the deployment page's panel too."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.web import TwoTeams


@pytest.mark.browser
def test_logs_page_reflects_the_url_and_shows_loki_down(
    alice_page: Page, live_url: str, two_teams: TwoTeams
) -> None:
    alice = two_teams.alice
    expect(alice_page.locator("h1")).to_contain_text("Projects")

    filters = {
        "deployment": alice.deployment_id,
        "branch": 'feat/"x"',
        "stream": "stderr",
        "level": "error",
        "q": '<b>say</b> "hi"',
        "regex": "1",
        "range": "custom",
        "since": "2h",
        "until": "2030-01-01T00:00",
        "live": "1",
    }
    alice_page.goto(f"{live_url}/projects/{alice.project_slug}/logs?{urlencode(filters)}")
    expect(alice_page.locator("#f-deployment")).to_have_value(alice.deployment_id)
    expect(alice_page.locator("#f-branch")).to_have_value('feat/"x"')
    expect(alice_page.locator("#f-stream")).to_have_value("stderr")
    expect(alice_page.locator("#f-level")).to_have_value("error")
    expect(alice_page.locator("#f-q")).to_have_value('<b>say</b> "hi"')
    expect(alice_page.locator("#f-regex")).to_be_checked()
    expect(alice_page.locator("#f-range")).to_have_value("custom")
    expect(alice_page.locator("#f-since")).to_have_value("2h")
    expect(alice_page.locator("#f-until")).to_have_value("2030-01-01T00:00")
    expect(alice_page.locator("#f-live")).to_be_checked()
    expect(alice_page.locator(".log-problem")).to_contain_text("Log store unreachable.")
    assert alice_page.locator("b", has_text="say").count() == 0  # the search text stayed text

    # Submitting the form keeps every filter in the URL (shareable).
    alice_page.click("button:has-text('Apply')")
    expect(alice_page.locator(".log-problem")).to_be_visible()
    assert "stream=stderr" in alice_page.url and "level=error" in alice_page.url

    # The deployment page renders; its htmx-loaded panel shows the message in place.
    alice_page.goto(f"{live_url}/projects/{alice.project_slug}/deployments/{alice.deployment_id}")
    expect(alice_page.locator("#deployment-status")).to_be_visible()
    expect(alice_page.locator("#deployment-logs .log-problem")).to_contain_text(
        "Log store unreachable."
    )
