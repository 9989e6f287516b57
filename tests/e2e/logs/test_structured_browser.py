"""A JSON line in Debian's Chromium, from a real runner through the real store: the row
shows its message, its toggle (mouse or keyboard) opens the pretty-printed object, and
markup in a JSON value stays text (no element, no script run), on the Logs page and in
the deployment page's live tail.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.logs.support import AlicePrints, log_view_page
from tests.fixtures.web import TwoTeams

pytestmark = [pytest.mark.docker, pytest.mark.browser]

JSON_LINE = (
    b'{"level":"error","msg":"checkout <img src=x onerror=\\"window.__pwned=1\\"> failed",'
    b'"user":{"id":42,"name":"<img src=y onerror=\\"window.__pwned=2\\">"},"retry":true}\n'
)
PRETTY = [
    "{",
    '  "level": "error",',
    '  "msg": "checkout <img src=x onerror=\\"window.__pwned=1\\"> failed",',
    '  "user": {',
    '    "id": 42,',
    '    "name": "<img src=y onerror=\\"window.__pwned=2\\">"',
    "  },",
    '  "retry": true',
    "}",
]


def test_a_json_line_shows_its_message_and_expands(
    browser: Browser, live_url: str, two_teams: TwoTeams, alice_prints: AlicePrints
) -> None:
    alice = two_teams.alice
    alice_prints(stdout=[JSON_LINE, b"plain text line\n"])
    with log_view_page(browser, live_url, alice.email) as page:
        page.goto(f"{live_url}/projects/{alice.project_slug}/logs")
        row = page.locator(".log-line", has=page.locator("details.log-json"))
        expect(row).to_have_count(1)
        expect(row.locator(".log-level")).to_have_text("erro")
        expect(row.locator(".log-message")).to_have_text(
            'checkout <img src=x onerror="window.__pwned=1"> failed'
        )
        body = row.locator(".log-json-body")
        expect(body).to_be_hidden()
        row.locator("summary").click()
        expect(body).to_be_visible()
        assert body.inner_text().splitlines() == PRETTY
        # The keyboard closes and opens it too (a <details>: no script of ours).
        row.locator("summary").focus()
        page.keyboard.press("Enter")
        expect(body).to_be_hidden()
        page.keyboard.press("Space")
        expect(body).to_be_visible()
        plain = page.locator(".log-line", has_text="plain text line")
        expect(plain.locator("details")).to_have_count(0)
        assert page.locator(".log-lines img, .log-lines script").count() == 0
        assert page.evaluate("window.__pwned") is None

        # The live tail: a JSON line printed after the page opened arrives expandable.
        page.goto(f"{live_url}/projects/{alice.project_slug}/deployments/{alice.deployment_id}")
        panel = page.locator("#deployment-logs")
        expect(panel.locator(".log-live-status")).to_have_text("Live")
        alice_prints(stdout=[b'{"level":"info","msg":"live json","n":1}\n'], wait=False)
        live = panel.locator(".log-line", has_text="live json")
        expect(live).to_have_count(1, timeout=30_000)
        expect(live.locator(".log-message")).to_have_text("live json")
        live.locator("summary").click()
        expect(live.locator(".log-json-body")).to_contain_text('"n": 1')
        assert page.evaluate("window.__pwned") is None
        page.screenshot(path="/tmp/logs-structured.png", full_page=True)
