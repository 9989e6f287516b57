"""The Logs page's request views in Debian's Chromium, against the real stack: requests
through real Caddy, its access log through the collector into the store (as in
test_requests.py). The query typed in the box, the URL, the rows and the status class
histogram agree; the request filters (chips, method, path prefix) write the same query
text; another team's user sees none of it. And the sample app, behind the same Caddy,
logs the client its request entry names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.logs.support import (
    ALICE_HOST,
    Proxy,
    StandInRunner,
    log_view_page,
    route_alice,
    serve_http,
    wait_api,
)
from tests.fixtures.sample_app import run_sample_app
from tests.fixtures.web import TwoTeams

pytestmark = [pytest.mark.docker, pytest.mark.browser]

QUERY = "status:>=500 -path:/health*"
#: What the requests below are answered: (method, path, status).
REQUESTS = [
    ("GET", "/ok", 200),
    ("GET", "/ok", 200),
    ("GET", "/health", 200),
    ("GET", "/health", 200),
    ("POST", "/health", 200),
    ("GET", "/missing", 404),
    ("GET", "/missing", 404),
    ("GET", "/fail", 500),
    ("GET", "/fail", 500),
    ("GET", "/health/fail", 500),
]


class _App(StandInRunner):
    """The stand-in runner: answers each path of REQUESTS with its status."""

    def status_for(self, path: str) -> int:
        return {answered: code for _, answered, code in REQUESTS}.get(path, 200)


@pytest.fixture
def app_server() -> Iterator[int]:
    yield from serve_http(_App)


def query_of(page: Page) -> str:
    """The page URL's ``q`` (the whole view)."""
    return parse_qs(urlsplit(page.url).query).get("q", [""])[0]


def legend_counts(page: Page) -> dict[str, int]:
    """The histogram's totals by status class, as its legend shows them."""
    legend = page.locator(".request-legend [data-status-class]")
    return {
        str(entry.get_attribute("data-status-class")): int(entry.get_attribute("data-count") or 0)
        for entry in legend.all()
    }


def test_the_query_the_url_the_rows_and_the_histogram_agree(
    browser: Browser,
    live_url: str,
    http: httpx.Client,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    proxy: Proxy,
    app_server: int,
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    route_alice(sessions, alice.deployment_id, app_server)
    for method, path, status in REQUESTS:
        assert proxy.get(ALICE_HOST, path, method=method).status_code == status
    wait_api(http, alice.token, alice.project_slug, len(REQUESTS), stream="request")
    logs_url = f"{live_url}/projects/{alice.project_slug}/logs"

    with log_view_page(browser, live_url, alice.email) as page:
        page.goto(logs_url)
        rows = page.locator(".log-line")
        expect(rows).to_have_count(len(REQUESTS))

        # Typed: failed requests, not health checks.
        page.fill("#f-q", QUERY)
        page.press("#f-q", "Enter")
        page.wait_for_url(lambda url: "q=" in url)
        assert query_of(page) == QUERY
        expect(rows).to_have_count(2)
        expect(page.locator(".log-line.status-5xx")).to_have_count(2)
        for row in rows.all():
            expect(row).to_contain_text("GET /fail 500")
        # The histogram counts the query's requests: only 5xx, as many as the rows.
        assert legend_counts(page) == {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 2}
        expect(page.locator(".request-histogram .bar-5xx[href]")).not_to_have_count(0)
        expect(page.locator(".request-histogram a.bar-4xx")).to_have_count(0)
        expect(page.locator("button[data-status-class][aria-pressed=true]")).to_have_count(0)

        # The 4xx chip: the box, the URL and the rows follow (the path filter stays).
        page.click("button[data-status-class='4xx']")
        page.wait_for_url(lambda url: "4xx" in url)
        assert query_of(page) == "-path:/health* status:4xx"
        expect(page.locator("#f-q")).to_have_value("-path:/health* status:4xx")
        expect(page.locator("button[data-status-class='4xx']")).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(rows).to_have_count(2)
        expect(page.locator(".log-line.status-4xx")).to_have_count(2)
        assert legend_counts(page) == {"2xx": 0, "3xx": 0, "4xx": 2, "5xx": 0}
        # Pressed again (from the keyboard), it clears.
        page.focus("button[data-status-class='4xx']")
        page.keyboard.press("Space")
        page.wait_for_url(lambda url: "4xx" not in url)
        assert query_of(page) == "-path:/health*"
        health = [path for _, path, _ in REQUESTS if path.startswith("/health")]
        expect(rows).to_have_count(len(REQUESTS) - len(health))

        # Path prefix and method, from the keyboard: `path:/health*`, then `method:POST`.
        page.goto(logs_url)
        page.fill("#f-path", "/health")
        page.press("#f-path", "Enter")
        page.wait_for_url(lambda url: "q=" in url)
        assert query_of(page) == "path:/health*"
        expect(page.locator("#f-path")).to_have_value("/health")
        expect(rows).to_have_count(len(health))
        page.select_option("#f-method", "POST")
        expect(page.locator("#f-q")).to_have_value("path:/health* method:POST")
        page.press("#f-q", "Enter")  # a select has no implicit submission: the box's
        page.wait_for_url(lambda url: "POST" in url)
        assert query_of(page) == "path:/health* method:POST"
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text("POST /health 200")

        # A histogram's class filters to it: the legend's 5xx over the whole range.
        page.goto(logs_url)
        page.click(".request-legend a[data-status-class='5xx']")
        page.wait_for_url(lambda url: "5xx" in url)
        assert query_of(page) == "status:5xx"
        expect(page.locator("#f-q")).to_have_value("status:5xx")
        expect(rows).to_have_count(3)
        expect(page.locator(".log-line.status-5xx")).to_have_count(3)
        # A bar's 4xx part: its time, filtered to the 4xx (rows and histogram agree).
        page.goto(logs_url)
        page.locator(".request-histogram a.bar-4xx").first.click()
        page.wait_for_url(lambda url: "until=" in url)
        assert query_of(page) == "status:4xx"
        assert {"since", "until"} <= set(parse_qs(urlsplit(page.url).query))
        counts = legend_counts(page)
        assert counts["4xx"] >= 1 and counts["2xx"] == counts["3xx"] == counts["5xx"] == 0
        expect(rows).to_have_count(counts["4xx"])
        expect(page.locator(".log-line.status-4xx")).to_have_count(counts["4xx"])
        shared = str(httpx.URL(logs_url, params={"q": QUERY}))
        page.screenshot(path="/tmp/logs-request-views.png", full_page=True)

    # Bob (another team) opens the shared URL: his own project of that name, with none
    # of Alice's requests; her project by its id is not found.
    with log_view_page(browser, live_url, bob.email) as page:
        answer = page.goto(shared)
        assert answer is not None and answer.status == 200
        expect(page.locator("#f-q")).to_have_value(QUERY)
        expect(page.locator(".log-empty")).to_have_count(1)
        expect(page.locator(".log-line")).to_have_count(0)
        expect(page.locator(".request-histogram")).to_have_count(0)
        by_id = httpx.URL(f"{live_url}/projects/{alice.project_id}/logs", params={"q": QUERY})
        answer = page.goto(str(by_id))
        assert answer is not None and answer.status == 404
        assert "GET /fail" not in page.content()


@pytest.fixture
def sample_app(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """examples/hello-python/app.py on a free loopback port; its stdout in a file."""
    yield from run_sample_app(tmp_path)


def test_the_sample_app_logs_the_client_its_request_entry_names(
    http: httpx.Client,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    proxy: Proxy,
    sample_app: tuple[int, Path],
) -> None:
    alice = two_teams.alice
    port, out = sample_app
    route_alice(sessions, alice.deployment_id, port)
    # The client comes from 127.0.0.2; Caddy reaches the app from 127.0.0.1.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=30) as client:
        answer = client.get(f"{proxy.caddy.http_url}/from-a-client", headers={"Host": ALICE_HOST})
    assert answer.status_code == 200, answer.text
    (entry,) = wait_api(http, alice.token, alice.project_slug, 1, stream="request")
    assert entry["request"]["client"] == "127.0.0.2"
    (line,) = [line for line in out.read_text().splitlines() if "/from-a-client" in line]
    assert line.split(" ", 1)[0] == entry["request"]["client"]
