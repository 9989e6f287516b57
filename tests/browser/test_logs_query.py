"""The query language in Debian's Chromium: the Logs page's box, its URL and its rows agree;
the drop-downs write their filter into the box; the deployment page's box takes a query.

Request entries are written straight into a real VictoriaLogs (the shared contract's
fields), beside a runner line, for Alice's project and for Bob's.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.web import TwoTeams
from tests.logs.qlang.store import (  # noqa: F401
    RequestStore,
    Scope,
    log_store_url,
    request_store,
    written_for_members,
)

pytestmark = pytest.mark.browser

QUERY = "status:>=500 -path:/health*"


def rows_of(store: RequestStore, scope: Scope, who: str) -> list[dict[str, str]]:
    return [
        store.request(scope, method="GET", path="/health", status=200, duration_ms=1),
        store.request(scope, method="GET", path="/healthz", status=503, duration_ms=2),
        store.request(scope, method="GET", path=f"/{who}/a", status=503, duration_ms=30),
        store.request(scope, method="POST", path=f"/{who}/b", status=500, duration_ms=9),
        store.line(scope, f"{who} booted", stream="stderr"),
    ]


written = written_for_members(rows_of)


def rows(page: Page) -> list[str]:
    return sorted(text.strip() for text in page.locator("li.log-line").all_inner_texts())


def test_typed_query_the_url_and_the_rows_agree(
    alice_page: Page, live_url: str, written: TwoTeams
) -> None:
    alice = written.alice
    alice_page.goto(f"{live_url}/projects/{alice.project_slug}/logs")
    expect(alice_page.locator("li.log-line")).to_have_count(5)

    alice_page.fill("#f-q", QUERY)
    alice_page.press("#f-q", "Enter")
    expect(alice_page.locator("li.log-line")).to_have_count(2)
    assert parse_qs(urlsplit(alice_page.url).query)["q"] == [QUERY]
    got = rows(alice_page)
    assert len(got) == 2
    assert "GET /alice/a 503 30ms" in got[0] and "POST /alice/b 500 9ms" in got[1]
    assert not any("/health" in row or "bob" in row for row in got)

    # The URL is the view: opened afresh, it shows the same query and rows.
    shared = alice_page.url
    alice_page.goto("about:blank")
    alice_page.goto(shared)
    expect(alice_page.locator("#f-q")).to_have_value(QUERY)
    assert rows(alice_page) == got

    # A drop-down writes its filter into the box, and the URL carries it as q.
    alice_page.select_option("#f-stream", "stderr")
    expect(alice_page.locator("#f-q")).to_have_value(f"{QUERY} stream:stderr")
    alice_page.fill("#f-q", "stream:stderr")
    alice_page.press("#f-q", "Enter")
    expect(alice_page.locator("li.log-line")).to_have_count(1)
    query = parse_qs(urlsplit(alice_page.url).query)
    assert query["q"] == ["stream:stderr"] and "stream" not in query
    expect(alice_page.locator("#f-stream")).to_have_value("stderr")
    assert "alice booted" in rows(alice_page)[0]

    # The Source drop-down's requests are `source:request` (`stream` is a runner's),
    # shown as status-coloured rows over a histogram by status class.
    alice_page.select_option("#f-stream", "request")
    expect(alice_page.locator("#f-q")).to_have_value("source:request")
    alice_page.press("#f-q", "Enter")
    expect(alice_page.locator("li.log-line.source-request")).to_have_count(4)
    expect(alice_page.locator("li.log-line.status-5xx")).to_have_count(3)
    expect(alice_page.locator("#f-stream")).to_have_value("request")
    expect(alice_page.locator(".request-histogram")).to_be_visible()
    expect(alice_page.locator(".request-legend")).to_contain_text("2xx 1")
    expect(alice_page.locator(".request-legend")).to_contain_text("5xx 3")

    # A bad query: the box says where.
    alice_page.fill("#f-q", "status:>=500 (path:/x")
    alice_page.press("#f-q", "Enter")
    expect(alice_page.locator("#error-q")).to_have_text("column 22: expected ')' to close a '('")


def test_the_deployment_page_search_box_takes_a_query(
    alice_page: Page, live_url: str, written: TwoTeams
) -> None:
    alice = written.alice
    alice_page.goto(f"{live_url}/projects/{alice.project_slug}/deployments/{alice.deployment_id}")
    panel = alice_page.locator("#deployment-logs li.log-line")
    expect(panel).to_have_count(5)
    alice_page.fill("#deployment-log-q", QUERY)
    alice_page.press("#deployment-log-q", "Enter")
    expect(panel).to_have_count(2)
    assert parse_qs(urlsplit(alice_page.url).query)["q"] == [QUERY]
    # "Open in Logs" carries the query to the Logs page.
    alice_page.click("#deployment-logs a:has-text('Open in Logs')")
    # (the page's deployment filter writes itself into the box).
    expect(alice_page.locator("#f-q")).to_have_value(f"{QUERY} deployment:{alice.deployment_id}")
    expect(alice_page.locator("li.log-line")).to_have_count(2)
    alice_page.go_back()
    alice_page.fill("#deployment-log-q", "status:")
    alice_page.press("#deployment-log-q", "Enter")
    expect(alice_page.locator("#deployment-logs")).to_contain_text(
        "column 8: expected a value after 'status:'"
    )
