"""A deployment's request stats (the deployment page's card) with the log store down, bad
input, and another team's project: the card says so, never a 500, never another's data.

With a real store: tests/e2e/logs/test_requests.py.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.web import TwoTeams, log_in


def test_the_stats_card_reports_the_store_down_and_bad_input(
    client: TestClient, two_teams: TwoTeams
) -> None:
    log_in(client, "alice@example.org")
    alice = two_teams.alice
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
