"""Log drains over the API: a team's members add, list, test and remove them; another
team gets 404; bad bodies get a 422 saying why; an https drain's secret is shown once and
header values never."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from devpush.services.drains.senders import SIGNATURE_HEADER, signature
from tests.fixtures.web import TwoTeams, bearer
from tests.utils.api_items import ProjectItems
from tests.utils.notify import HttpReceiver

DRAINS = ProjectItems("drains")
url, add = DRAINS.url, DRAINS.add


def test_a_member_adds_lists_and_removes_drains_and_sees_the_secret_once(
    client: TestClient, two_teams: TwoTeams
) -> None:
    created = add(
        client,
        two_teams,
        {
            "kind": "https",
            "url": "https://logs.example.org/in?key=q-s3cr3t",
            "headers": {"Authorization": "Bearer h-s3cr3t"},
            "sources": ["stderr", "stdout"],
            "min_level": "warning",
            "environment": "production",
        },
    )
    assert isinstance(created["secret"], str) and len(created["secret"]) == 64
    assert created["url"] == "https://logs.example.org/in?…"
    assert created["header_names"] == ["Authorization"]
    assert created["sources"] == ["stdout", "stderr"]
    assert (created["status"], created["lines_behind"]) == ("new", None)
    syslog = add(client, two_teams, {"kind": "syslog", "url": "syslog+tls://logs.example.org:6514"})
    assert syslog["secret"] is None
    assert syslog["sources"] == ["stdout", "stderr", "request"]
    listed = client.get(url(two_teams), headers=bearer(two_teams.alice.token))
    assert listed.status_code == 200
    assert [d["kind"] for d in listed.json()] == ["https", "syslog"]
    for secret in (created["secret"], "h-s3cr3t", "q-s3cr3t"):
        assert secret not in listed.text
    one = client.get(url(two_teams, f"/{syslog['id']}"), headers=bearer(two_teams.alice.token))
    assert one.json()["url"] == "syslog+tls://logs.example.org:6514"
    removed = client.delete(
        url(two_teams, f"/{created['id']}"), headers=bearer(two_teams.alice.token)
    )
    assert removed.status_code == 204
    listed = client.get(url(two_teams), headers=bearer(two_teams.alice.token))
    assert [d["id"] for d in listed.json()] == [syslog["id"]]


def test_another_team_neither_sees_nor_changes_them(
    client: TestClient, two_teams: TwoTeams
) -> None:
    drain = add(client, two_teams, {"kind": "otlp", "url": "https://otlp.example.org"})
    bob = bearer(two_teams.bob.token)
    assert client.get(url(two_teams), headers=bob).status_code == 404
    assert client.get(url(two_teams, f"/{drain['id']}"), headers=bob).status_code == 404
    assert (
        client.post(
            url(two_teams), json={"kind": "otlp", "url": "https://x.org"}, headers=bob
        ).status_code
        == 404
    )
    assert client.post(url(two_teams, f"/{drain['id']}/test"), headers=bob).status_code == 404
    assert client.delete(url(two_teams, f"/{drain['id']}"), headers=bob).status_code == 404
    # Bob's own project (the same slug) has none, and Alice's drain id is not found there.
    bobs = f"/api/v1/projects/{two_teams.bob.project_id}/drains"
    assert client.get(bobs, headers=bob).json() == []
    assert client.delete(f"{bobs}/{drain['id']}", headers=bob).status_code == 404
    listed = client.get(url(two_teams), headers=bearer(two_teams.alice.token))
    assert [d["id"] for d in listed.json()] == [drain["id"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "https", "url": "ftp://example.org/x"}, "https:// (or http://) URL"),
        ({"kind": "https", "url": "https://u:p@example.org/"}, "user name or password"),
        ({"kind": "otlp", "url": "https://example.org:99999"}, "port"),
        ({"kind": "syslog", "url": "https://example.org"}, "syslog://host:port"),
        ({"kind": "syslog", "url": "syslog://example.org"}, "needs a host and a port"),
        ({"kind": "syslog", "url": "syslog+tls://example.org:6514/x"}, "only syslog+tls"),
        (
            {"kind": "syslog", "url": "syslog://example.org:514", "headers": {"A": "b"}},
            "no headers",
        ),
        ({"kind": "https", "url": "https://example.org/a b"}, "spaces"),
        ({"kind": "https", "url": "https://example.org", "sources": []}, "at least one source"),
        ({"kind": "https", "url": "https://example.org", "sources": ["build"]}, "stdout"),
        ({"kind": "https", "url": "https://example.org", "min_level": "loud"}, "warning"),
        ({"kind": "https", "url": "https://example.org", "environment": "dev"}, "preview"),
        ({"kind": "https", "url": "https://x.org", "headers": {"Bad Name": "v"}}, "header name"),
        ({"kind": "https", "url": "https://x.org", "headers": {"A": "v\r\nB: c"}}, "one line"),
        ({"kind": "kafka", "url": "https://example.org"}, "https"),
        ({"kind": "https", "url": "https://example.org", "secret": "mine"}, "secret"),
        ({"kind": "https"}, "url"),
    ],
)
def test_bad_drains_are_refused_with_a_clear_message(
    client: TestClient, two_teams: TwoTeams, body: dict[str, Any], message: str
) -> None:
    DRAINS.assert_refused(client, two_teams, body, message)


def test_send_a_test_line_and_see_the_result(
    client: TestClient, two_teams: TwoTeams, receiver: HttpReceiver
) -> None:
    drain = add(client, two_teams, {"kind": "https", "url": f"{receiver.url}/in"})
    alice = bearer(two_teams.alice.token)
    result = client.post(url(two_teams, f"/{drain['id']}/test"), headers=alice)
    assert result.status_code == 200
    assert result.json() == {"ok": True, "error": ""}
    (request,) = receiver.on("/in")
    assert request.headers[SIGNATURE_HEADER] == signature(drain["secret"], request.body)
    record = json.loads(request.body)
    assert record["source"] == "test" and drain["id"] in record["message"]
    status = client.get(url(two_teams, f"/{drain['id']}"), headers=alice).json()
    assert status["status"] == "ok" and status["last_delivery_at"]
    receiver.script["/in"] = [503]
    result = client.post(url(two_teams, f"/{drain['id']}/test"), headers=alice)
    assert result.json()["ok"] is False
    assert "503" in result.json()["error"]
    status = client.get(url(two_teams, f"/{drain['id']}"), headers=alice).json()
    assert status["status"] == "failing" and "503" in status["last_error"]
