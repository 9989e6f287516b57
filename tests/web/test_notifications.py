"""The Notifications section of the project settings page: owners add (a webhook's
secret shown once), test and remove channels; members read it and get 403 on changes;
another team gets 404; a bad target is a 422 saying why."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import NotificationChannel
from tests.fixtures.web import CAROL, TwoTeams, log_in
from tests.utils.notify import HttpReceiver


def channels(sessions: sessionmaker[Session]) -> list[NotificationChannel]:
    with sessions() as session:
        return list(session.scalars(select(NotificationChannel)))


def add(client: TestClient, csrf: str, **form: str) -> object:
    return client.post(
        "/projects/shop/settings/notifications",
        data={"csrf_token": csrf, **form},
        follow_redirects=False,
    )


def test_an_owner_adds_a_webhook_and_sees_its_secret_once(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    csrf = log_in(client, two_teams.alice.email)
    page = client.post(
        "/projects/shop/settings/notifications",
        data={
            "csrf_token": csrf,
            "kind": "webhook",
            "target": "https://hooks.example.org/x",
            "on_failure": "1",
        },
    )
    assert page.status_code == 200, page.text
    match = re.search(r'id="notification-secret".*?<code>([0-9a-f]{64})</code>', page.text, re.S)
    assert match, "the secret is not shown"
    (channel,) = channels(sessions)
    assert (channel.kind.value, channel.on_failure, channel.on_success) == ("webhook", True, False)
    again = client.get("/projects/shop/settings")
    assert match.group(1) not in again.text
    assert "https://hooks.example.org/x" in again.text


def test_slack_and_email_channels_redirect_and_hide_the_slack_path(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    csrf = log_in(client, two_teams.alice.email)
    slack = "https://hooks.slack.com/services/T1/B2/s3cr3t"
    response = client.post(
        "/projects/shop/settings/notifications",
        data={"csrf_token": csrf, "kind": "slack", "target": slack, "on_success": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    response = client.post(
        "/projects/shop/settings/notifications",
        data={"csrf_token": csrf, "kind": "email", "target": "ops@example.org", "on_failure": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get("/projects/shop/settings").text
    assert "s3cr3t" not in page
    assert "https://hooks.slack.com/…" in page and "ops@example.org" in page
    assert len(channels(sessions)) == 2


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"kind": "webhook", "target": "ftp://x.org", "on_failure": "1"}, "http:// or https://"),
        ({"kind": "email", "target": "nobody", "on_failure": "1"}, "e-mail address"),
        ({"kind": "email", "target": "ops@example.org"}, "on_failure, on_success or both"),
        ({"kind": "fax", "target": "ops@example.org", "on_failure": "1"}, "webhook"),
    ],
)
def test_a_bad_channel_is_refused_with_a_clear_message(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    form: dict[str, str],
    message: str,
) -> None:
    csrf = log_in(client, two_teams.alice.email)
    response = client.post(
        "/projects/shop/settings/notifications", data={"csrf_token": csrf, **form}
    )
    assert response.status_code == 422
    assert message in response.text
    assert channels(sessions) == []


def test_send_a_test_and_remove(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    receiver: HttpReceiver,
) -> None:
    csrf = log_in(client, two_teams.alice.email)
    add(client, csrf, kind="webhook", target=f"{receiver.url}/hook", on_failure="1")
    (channel,) = channels(sessions)
    receiver.script["/hook"] = [502]
    base = f"/projects/shop/settings/notifications/{channel.id}"
    response = client.post(f"{base}/test", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert len(receiver.on("/hook")) == 1
    page = client.get("/projects/shop/settings").text
    assert "failed (502)" in page and "the receiver answered 502" in page
    # No CSRF token: refused.
    assert client.post(f"{base}/delete", follow_redirects=False).status_code == 403
    response = client.post(f"{base}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert channels(sessions) == []


def test_members_read_and_other_teams_get_404(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session], carol: int
) -> None:
    csrf = log_in(client, two_teams.alice.email)
    add(client, csrf, kind="email", target="alerts@shop.example.org", on_failure="1")
    (channel,) = channels(sessions)
    client.cookies.clear()
    base = f"/projects/shop/settings/notifications/{channel.id}"
    form = {"kind": "email", "target": "x@example.org", "on_failure": "1"}
    routes = [
        ("/projects/shop/settings/notifications", form),
        (f"{base}/test", {}),
        (f"{base}/delete", {}),
    ]
    csrf = log_in(client, CAROL)
    page = client.get("/projects/shop/settings").text
    assert "alerts@shop.example.org" in page and 'id="add-notification"' not in page
    for path, data in routes:
        response = client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)
        assert response.status_code == 403, path
    client.cookies.clear()
    csrf = log_in(client, two_teams.bob.email)
    # Bob's own "shop": Alice's channel is not in it; nothing of Alice's is reachable.
    for path, data in routes[1:]:
        response = client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)
        assert response.status_code == 404, path
    assert "alerts@shop.example.org" not in client.get("/projects/shop/settings").text
    assert len(channels(sessions)) == 1
