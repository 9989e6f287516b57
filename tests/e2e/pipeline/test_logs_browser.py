"""The live tail in Debian's Chromium on a real Loki: new lines appear on the deployment
page, hostile lines show as text and run nothing, and the view follows the end only
until the reader scrolls up. Collected only with ``pytest --pipeline``.
"""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import Deployment
from tests.e2e.pipeline.support import labels_of
from tests.fixtures.browser import sign_in
from tests.fixtures.web import TwoTeams

pytestmark = [pytest.mark.docker, pytest.mark.browser]


@pytest.fixture
def loki_url(loki_server) -> str:  # type: ignore[no-untyped-def]
    return loki_server.url


def push(loki_url: str, deployment: Deployment, lines: list[tuple[str, str]]) -> None:
    base = time.time_ns()
    values: dict[str, list[list[str]]] = {}
    for i, (stream, line) in enumerate(lines):
        values.setdefault(stream, []).append([str(base + i), line])
    streams = [
        {
            "stream": labels_of(deployment, stream),
            "values": rows,
        }
        for stream, rows in values.items()
    ]
    response = httpx.post(f"{loki_url}/loki/api/v1/push", json={"streams": streams}, timeout=10)
    assert response.status_code == 204, response.text


def test_live_tail_in_the_browser(
    browser: Browser,
    live_url: str,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    loki_server,  # type: ignore[no-untyped-def]
) -> None:
    alice = two_teams.alice
    with sessions() as session:
        deployment = session.get(Deployment, alice.deployment_id)
        assert deployment is not None
    page = browser.new_page()
    sign_in(page, live_url, alice.email)
    expect(page.locator("h1")).to_contain_text("Projects")
    page.goto(f"{live_url}/projects/{alice.project_slug}/deployments/{alice.deployment_id}")
    expect(page.locator("#deployment-logs .log-live-status")).to_have_text("Live")

    hostile = [
        ("stdout", '<img src=x onerror="window.__pwned = 1">'),
        ("stderr", "<script>window.__pwned = 2</script>"),
        ("stdout", "\x1b[32mgreen\x1b[0m and \x1b]0;title\x07done"),
        *[("stdout", f"filler {i}") for i in range(120)],
    ]
    push(loki_server.url, deployment, hostile)
    lines = page.locator("#deployment-logs .log-lines")
    expect(lines).to_contain_text("filler 119", timeout=15_000)
    expect(lines).to_contain_text('<img src=x onerror="window.__pwned = 1">')
    expect(lines).to_contain_text("<script>window.__pwned = 2</script>")
    expect(lines.locator("span.ansi-fg-2")).to_have_text("green")
    assert lines.locator("img").count() == 0
    assert lines.locator("script").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.title() != "title"
    expect(lines.locator(".stream-stderr")).to_contain_text("<script>")

    box = page.locator("#deployment-logs .log-scroll")
    at_end = "e => e.scrollHeight - e.scrollTop - e.clientHeight < 40"
    assert box.evaluate(at_end), "the view should follow the end"
    # Scrolled up: new lines arrive but the view stays where the reader is.
    box.evaluate("e => { e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }")
    push(loki_server.url, deployment, [("stdout", "after scrolling up")])
    expect(lines).to_contain_text("after scrolling up", timeout=15_000)
    assert box.evaluate("e => e.scrollTop") == 0
    page.close()
