"""Log views against the real app with the log store down (a closed loopback port): every view says
so clearly, with the right status, and the rest of the app keeps serving. Plus validation
(bad regex, bad times) and 404 isolation between teams for every log route.

The views against a real log store are in tests/e2e/logs.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.web import Member, TwoTeams, log_in, only_environment_id

UNREACHABLE = "Log store unreachable."


def test_logs_page_says_the_log_store_is_unreachable(client: TestClient, alice: Member) -> None:
    page = client.get(f"/projects/{alice.project_slug}/logs?branch=main&stream=stderr&q=boom")
    assert page.status_code == 503
    assert UNREACHABLE in page.text
    assert "cannot reach the log store right now" in page.text
    # The form still reflects the filters, so the view can be retried as it was.
    assert 'id="f-q" name="q" type="search" value="boom"' in page.text
    assert '<option value="stderr" selected>' in page.text
    # The rest of the app is untouched.
    assert client.get("/projects").status_code == 200
    assert client.get(f"/projects/{alice.project_slug}").status_code == 200


def test_deployment_page_renders_and_its_panel_reports_loki_down(
    client: TestClient, alice: Member
) -> None:
    page = client.get(f"/projects/{alice.project_slug}/deployments/{alice.deployment_id}")
    assert page.status_code == 200
    panel_url = f"/projects/{alice.project_slug}/logs/panel?deployment={alice.deployment_id}"
    assert f'hx-get="{panel_url}"' in page.text
    panel = client.get(panel_url, headers={"HX-Request": "true"})
    assert panel.status_code == 503
    assert UNREACHABLE in panel.text
    assert "<html" not in panel.text  # a fragment, swapped into the page by htmx

    older = client.get(
        f"/projects/{alice.project_slug}/logs/lines",
        # A cursor inside the range (one before it is an empty window: no store request).
        params={"deployment": alice.deployment_id, "cursor": f"{time.time_ns()}:"},
        headers={"HX-Request": "true"},
    )
    assert older.status_code == 503
    assert older.text.lstrip().startswith('<li class="log-older">')


def test_live_tail_sends_an_error_event(client: TestClient, alice: Member) -> None:
    response = client.get(
        f"/projects/{alice.project_slug}/logs/stream",
        params={"deployment": alice.deployment_id, "cursor": "1:"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "event: error" in response.text
    assert "retry: 5000" in response.text
    assert "cannot reach the log store right now" in response.text


def test_download_gives_a_clear_error(client: TestClient, alice: Member) -> None:
    for fmt in ("txt", "ndjson"):
        response = client.get(
            f"/projects/{alice.project_slug}/logs/download", params={"format": fmt}
        )
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/plain")
        assert "cannot reach the log store" in response.text
        assert "content-disposition" not in response.headers


def test_permalink_with_loki_down_and_malformed_ids(client: TestClient, alice: Member) -> None:
    base = f"/projects/{alice.project_slug}/logs/line"
    response = client.get(base, params={"id": "1700000000000000000-0123456789abcdef"})
    assert response.status_code == 503
    assert UNREACHABLE in response.text
    for bad in ("x", "1-zz", "1700000000000000000-0123456789abcdeg", "../etc"):
        assert client.get(base, params={"id": bad}).status_code == 404


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"q": "(unclosed", "regex": "1"}, "q", "invalid regular expression"),
        ({"q": "a(?=b)", "regex": "1"}, "q", "invalid regular expression"),
        ({"since": "yesterday"}, "since", "expected a duration"),
        ({"since": "1h", "until": "2h"}, "since", "must be before until"),
        ({"stream": "stdin"}, None, "stream: must be one of stdout, stderr"),
        ({"level": "loud"}, None, "level: must be one of"),
    ],
)
def test_invalid_queries_are_422_with_a_message(
    client: TestClient, alice: Member, params: dict[str, str], field: str, message: str
) -> None:
    page = client.get(f"/projects/{alice.project_slug}/logs", params=params)
    assert page.status_code == 422
    assert message in page.text
    if field:
        assert f'id="error-{field}"' in page.text
    # The store is down, but a bad query is refused before any request to it.
    assert UNREACHABLE not in page.text


def test_plain_search_with_regex_characters_is_not_an_error(
    client: TestClient, alice: Member
) -> None:
    # Parentheses group terms in the query language; other regex characters are text.
    params = {"q": "a.b+c[x]?{2}$ ^d|e"}
    page = client.get(f"/projects/{alice.project_slug}/logs", params=params)
    assert page.status_code == 503  # valid: only the store is missing


def test_another_teams_logs_are_not_found(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    bob_env = only_environment_id(sessions, bob.project_id)
    log_in(client, alice.email)
    own = f"/projects/{alice.project_slug}/logs"
    paths = []
    for suffix, extra in [
        ("", {}),
        ("/panel", {}),
        ("/lines", {"cursor": f"{time.time_ns()}:"}),
        ("/stream", {}),
        ("/download", {}),
        ("/line", {"id": "1700000000000000000-0123456789abcdef"}),
    ]:
        # Bob's project by id, and Alice's own project with Bob's deployment or environment.
        paths.append((f"/projects/{bob.project_id}/logs{suffix}", extra))
        paths.append((f"{own}{suffix}", {**extra, "deployment": bob.deployment_id}))
        paths.append((f"{own}{suffix}", {**extra, "environment": bob_env}))
    for path, params in paths:
        response = client.get(path, params=params)
        assert response.status_code == 404, (path, params, response.status_code)
        assert "unreachable" not in response.text  # refused before the store is asked
    # The same ids of Alice's own are accepted (and then meet the closed store).
    assert client.get(own, params={"deployment": alice.deployment_id}).status_code == 503


def test_logs_need_a_session(client: TestClient, two_teams: TwoTeams) -> None:
    response = client.get(f"/projects/{two_teams.alice.project_slug}/logs", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
