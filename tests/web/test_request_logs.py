"""A deployment's request stats (the deployment page's card) with the log store down, bad
input, and another team's project: the card says so, never a 500, never another's data.

With a real store: tests/e2e/logs/test_requests.py.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from devpush.log_request import LogFilters, LogScope
from devpush.logs.requests import StatusClass
from devpush.services.request_logs import StatusBar
from devpush.web.request_logs import histogram_context, with_term
from tests.fixtures.web import Member, TwoTeams, log_in


def test_the_stats_card_reports_the_store_down_and_bad_input(
    client: TestClient, alice: Member
) -> None:
    page = client.get(f"/projects/{alice.project_slug}/deployments/{alice.deployment_id}")
    url = f"/projects/{alice.project_slug}/logs/requests/stats"
    assert f'hx-get="{url}?deployment={alice.deployment_id}"' in page.text
    card = client.get(url, params={"deployment": alice.deployment_id}, headers={"HX-Request": "1"})
    assert card.status_code == 503
    assert "cannot reach the log store" in card.text
    assert "<html" not in card.text  # a fragment, swapped in by htmx
    bad = client.get(url, params={"deployment": alice.deployment_id, "since": "yesterday-ish"})
    assert bad.status_code == 422
    assert "since" in bad.text


def test_another_teams_project_and_deployment_are_not_found(
    client: TestClient, two_teams: TwoTeams
) -> None:
    log_in(client, "alice@example.org")
    alice, bob = two_teams.alice, two_teams.bob
    theirs = client.get(f"/projects/{bob.project_id}/logs/requests/stats")
    assert theirs.status_code == 404
    mixed = client.get(
        f"/projects/{alice.project_slug}/logs/requests/stats",
        params={"deployment": bob.deployment_id},
    )
    assert mixed.status_code == 404


def test_with_term_writes_what_the_pages_filters_write() -> None:
    # The rule of static/logs-query.js's withTerm: top-level positive terms of the field
    # go, the new one comes last; a negated term and other fields stay.
    assert with_term(None, "status", "5xx") == "status:5xx"
    assert with_term("status:>=500 -path:/health*", "status", "4xx") == "-path:/health* status:4xx"
    assert with_term('STATUS:"503" (a OR b)  x', "status", "2xx") == "(a OR b) x status:2xx"
    assert with_term("-status:404 timeout", "status", "5xx") == "-status:404 timeout status:5xx"


def test_the_histogram_links_each_class_to_its_filter() -> None:
    scope = LogScope(project_id="p", project_slug="shop", project_name="Shop")
    filters = LogFilters(q="status:>=500 -path:/health*", since="1h")
    counts: dict[StatusClass, int] = {"2xx": 0, "3xx": 0, "4xx": 2, "5xx": 3}
    bars = [StatusBar(10, 20, counts), StatusBar(20, 30, dict.fromkeys(counts, 0))]
    context = histogram_context(scope, filters, bars)
    wanted = "-path:/health* status:4xx"
    legend = parse_qs(urlsplit(context["status_filters"]["4xx"]).query)
    assert legend == {"q": [wanted], "since": ["1h"]}
    first, second = context["status_bars"]
    assert set(first["class_hrefs"]) == {"4xx", "5xx"}  # only the classes it holds
    zoom = parse_qs(urlsplit(first["class_hrefs"]["4xx"]).query)
    assert zoom == {"q": [wanted], "since": ["10"], "until": ["20"]}
    assert second["class_hrefs"] == {}
    assert context["status_totals"] == {"2xx": 0, "3xx": 0, "4xx": 2, "5xx": 3}
    # A regex search has no fields: the bars zoom only.
    as_regex = histogram_context(scope, LogFilters(q="x+", regex=True), bars)
    assert as_regex["status_filters"] == {}
    assert as_regex["status_bars"][0]["class_hrefs"] == {}
