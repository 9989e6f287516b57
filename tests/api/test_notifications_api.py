"""Notification channels over the API: owners add, test and remove; members read (403
on changes); another team gets 404; bad bodies 422; a webhook's secret is shown once."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from devpush.services.notifications.senders import signature
from tests.fixtures.web import TwoTeams, bearer
from tests.utils.api_items import ProjectItems
from tests.utils.notify import HttpReceiver

CHANNELS = ProjectItems("notifications")
url, add = CHANNELS.url, CHANNELS.add


def test_an_owner_adds_a_webhook_and_sees_its_secret_once(
    client: TestClient, two_teams: TwoTeams
) -> None:
    created = add(client, two_teams, {"kind": "webhook", "target": "https://hooks.example.org/x"})
    secret = created["secret"]
    assert isinstance(secret, str) and len(secret) == 64
    assert (created["on_failure"], created["on_success"]) == (True, False)
    listed = client.get(url(two_teams), headers=bearer(two_teams.alice.token))
    assert listed.status_code == 200
    (channel,) = listed.json()
    assert channel["target"] == "https://hooks.example.org/x"
    assert "secret" not in channel
    assert secret not in listed.text
    # Slack and e-mail channels have no secret of devpush's; a Slack URL's path is one.
    slack = add(
        client,
        two_teams,
        {"kind": "slack", "target": "https://hooks.slack.com/services/T1/B2/s3cr3t"},
    )
    assert slack["secret"] is None
    assert slack["target"] == "https://hooks.slack.com/…"
    email = add(
        client,
        two_teams,
        {"kind": "email", "target": "ops@example.org", "on_failure": True, "on_success": True},
    )
    assert (email["secret"], email["on_success"]) == (None, True)
    listed = client.get(url(two_teams), headers=bearer(two_teams.alice.token))
    assert "s3cr3t" not in listed.text
    assert [c["kind"] for c in listed.json()] == ["webhook", "slack", "email"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "webhook", "target": "ftp://example.org/x"}, "http:// or https:// URL"),
        ({"kind": "slack", "target": "hooks.slack.com/services/x"}, "http:// or https:// URL"),
        ({"kind": "webhook", "target": "https://u:p@example.org/"}, "user name or password"),
        ({"kind": "email", "target": "not an address"}, "e-mail address"),
        ({"kind": "email", "target": "ops@example.org\nBcc: x@y"}, "e-mail address"),
        ({"kind": "email", "target": "ops@example.org", "on_failure": False}, "on_success"),
        ({"kind": "pager", "target": "https://example.org"}, "webhook"),
        ({"kind": "webhook", "target": "https://example.org", "secret": "mine"}, "secret"),
        ({"kind": "webhook"}, "target"),
    ],
)
def test_bad_channels_are_refused_with_a_clear_message(
    client: TestClient, two_teams: TwoTeams, body: dict, message: str
) -> None:
    CHANNELS.assert_refused(client, two_teams, body, message)


def test_members_read_but_do_not_change_and_other_teams_see_nothing(
    client: TestClient, two_teams: TwoTeams, carol_token: str
) -> None:
    channel = add(client, two_teams, {"kind": "webhook", "target": "https://example.org/h"})
    one = f"/{channel['id']}"
    body = {"kind": "email", "target": "a@example.org"}
    assert client.get(url(two_teams), headers=bearer(carol_token)).status_code == 200
    attempts = client.get(url(two_teams, f"{one}/attempts"), headers=bearer(carol_token))
    assert (attempts.status_code, attempts.json()) == (200, [])
    for method, path, json_body in (
        ("POST", url(two_teams), body),
        ("DELETE", url(two_teams, one), None),
        ("POST", url(two_teams, f"{one}/test"), None),
    ):
        response = client.request(method, path, json=json_body, headers=bearer(carol_token))
        assert response.status_code == 403, (method, path, response.text)
    for method, path, json_body in (
        ("GET", url(two_teams), None),
        ("POST", url(two_teams), body),
        ("DELETE", url(two_teams, one), None),
        ("POST", url(two_teams, f"{one}/test"), None),
        ("GET", url(two_teams, f"{one}/attempts"), None),
    ):
        response = client.request(method, path, json=json_body, headers=bearer(two_teams.bob.token))
        assert response.status_code == 404, (method, path, response.text)
    # Bob's own project: Alice's channel id is not found there.
    bob = f"/api/v1/projects/{two_teams.bob.project_id}/notifications{one}"
    assert client.delete(bob, headers=bearer(two_teams.bob.token)).status_code == 404


def test_an_owner_removes_a_channel(client: TestClient, two_teams: TwoTeams) -> None:
    channel = add(client, two_teams, {"kind": "email", "target": "ops@example.org"})
    headers = bearer(two_teams.alice.token)
    assert client.delete(url(two_teams, f"/{channel['id']}"), headers=headers).status_code == 204
    assert client.get(url(two_teams), headers=headers).json() == []
    assert client.delete(url(two_teams, f"/{channel['id']}"), headers=headers).status_code == 404


def test_send_a_test_reaches_the_receiver_and_is_recorded(
    client: TestClient, two_teams: TwoTeams, receiver: HttpReceiver
) -> None:
    channel = add(client, two_teams, {"kind": "webhook", "target": f"{receiver.url}/hook"})
    headers = bearer(two_teams.alice.token)
    response = client.post(url(two_teams, f"/{channel['id']}/test"), headers=headers)
    assert response.status_code == 200, response.text
    assert (response.json()["ok"], response.json()["status_code"]) == (True, 200)
    (call,) = receiver.on("/hook")
    assert call.headers["X-Devpush-Event"] == "test"
    assert call.headers["X-Devpush-Signature"] == signature(channel["secret"], call.body)
    assert json.loads(call.body)["deployment"]["id"] == two_teams.alice.deployment_id

    receiver.script["/hook"] = [500]
    failed = client.post(url(two_teams, f"/{channel['id']}/test"), headers=headers).json()
    assert (failed["ok"], failed["status_code"]) == (False, 500)
    attempts = client.get(url(two_teams, f"/{channel['id']}/attempts"), headers=headers).json()
    assert [a["ok"] for a in attempts] == [False, True]
    assert channel["secret"] not in json.dumps(attempts)
