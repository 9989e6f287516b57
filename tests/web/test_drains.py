"""The Drains section of the project settings page: a team's members add a drain (an
https drain's secret shown once), send a test line and remove it; another team gets
404; a bad URL is a 422 saying why."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import LogDrain
from tests.fixtures.web import CAROL, TwoTeams, add_carol, log_in
from tests.utils.notify import HttpReceiver


def drains(sessions: sessionmaker[Session]) -> list[LogDrain]:
    with sessions() as session:
        return list(session.scalars(select(LogDrain)))


def test_a_member_adds_tests_and_removes_a_drain(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session], receiver: HttpReceiver
) -> None:
    add_carol(sessions, two_teams)  # a member, not an owner, of Alice's team
    csrf = log_in(client, CAROL)
    page = client.post(
        "/projects/shop/settings/drains",
        data={
            "csrf_token": csrf,
            "kind": "https",
            "url": f"{receiver.url}/in",
            "environment": "production",
            "sources": ["stdout", "request"],
            "min_level": "",
            "headers": "X-Api-Key: k-s3cr3t\n",
        },
    )
    assert page.status_code == 200, page.text
    match = re.search(r'id="drain-secret-value">([0-9a-f]{64})</code>', page.text, re.S)
    assert match, "the secret is not shown"
    (drain,) = drains(sessions)
    assert (drain.kind.value, drain.environment, drain.sources) == (
        "https",
        "production",
        ["stdout", "request"],
    )
    again = client.get("/projects/shop/settings")
    assert match.group(1) not in again.text and "k-s3cr3t" not in again.text
    assert "X-Api-Key" in again.text and f"{receiver.url}/in" in again.text

    tested = client.post(
        f"/projects/shop/settings/drains/{drain.id}/test",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert tested.status_code == 303
    assert len(receiver.on("/in")) == 1
    shown = client.get("/projects/shop/settings").text
    assert re.search(rf'data-drain="{drain.id}".*?class="drain-status">ok<', shown, re.S)

    removed = client.post(
        f"/projects/shop/settings/drains/{drain.id}/delete",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert drains(sessions) == []


def test_a_bad_url_says_why(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    csrf = log_in(client, two_teams.alice.email)
    page = client.post(
        "/projects/shop/settings/drains",
        data={
            "csrf_token": csrf,
            "kind": "syslog",
            "url": "syslog://logs.example.org",
            "sources": ["stdout"],
        },
    )
    assert page.status_code == 422
    assert "needs a host and a port" in page.text
    page = client.post(
        "/projects/shop/settings/drains",
        data={"csrf_token": csrf, "kind": "otlp", "url": "https://x.org", "headers": "oops"},
    )
    assert page.status_code == 422
    assert "header line 1 is not &#39;Name: value&#39;" in page.text
    page = client.post(
        "/projects/shop/settings/drains",
        data={"csrf_token": csrf, "kind": "otlp", "url": "https://x.org"},
    )
    assert page.status_code == 422
    assert "choose at least one source" in page.text
    assert drains(sessions) == []


def test_another_team_gets_404(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    csrf = log_in(client, two_teams.alice.email)
    client.post(
        "/projects/shop/settings/drains",
        data={
            "csrf_token": csrf,
            "kind": "otlp",
            "url": "https://otlp.example.org",
            "sources": ["stdout", "stderr"],
        },
    )
    (drain,) = drains(sessions)
    client.cookies.clear()
    csrf = log_in(client, two_teams.bob.email)
    # Bob's "shop" is his own project: Alice's drain is not found there.
    for action in ("test", "delete"):
        response = client.post(
            f"/projects/shop/settings/drains/{drain.id}/{action}", data={"csrf_token": csrf}
        )
        assert response.status_code == 404
    assert drain.id not in client.get("/projects/shop/settings").text
    assert len(drains(sessions)) == 1
