"""Custom domains over the API: owners add, check again and remove; members read (403 on
changes); another team gets 404 for the project and 409 for a name already claimed; bad
names and bodies get a 4xx that says why."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import Domain, DomainStatus, ProxyTableRow
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import TwoTeams, bearer, pending


def url(project: str, tail: str = "") -> str:
    return f"/api/v1/projects/{project}/domains{tail}"


def test_an_owner_adds_lists_and_removes_a_domain(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice
    queue.huey.flush()
    added = client.post(url("shop"), json={"name": "Example.COM"}, headers=bearer(alice.token))
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["name"], body["environment"], body["status"]) == (
        "example.com",
        "production",
        "pending",
    )
    assert body["reason"] == "not checked yet"
    # No server address set: a CNAME to the environment's host is what verifies.
    assert body["dns_record"] == {
        "type": "CNAME",
        "name": "example.com",
        "value": "shop.localhost.",
    }
    (check,) = pending(queue)
    assert check[0] == "devpush.domain_check"
    listed = client.get(url("shop"), headers=bearer(alice.token)).json()
    assert [d["name"] for d in listed] == ["example.com"]
    shown = client.get(url("shop", "/example.com"), headers=bearer(alice.token))
    assert shown.status_code == 200 and shown.json()["name"] == "example.com"

    # Verified by the worker: served once the proxy table has it ("active").
    with sessions() as session:
        domain = session.scalar(select(Domain))
        assert domain is not None
        domain.status = DomainStatus.VERIFIED
        session.add(
            ProxyTableRow(host="example.com", deployment_id="d", address="10.0.0.2", port=8000)
        )
        session.commit()
    assert (
        client.get(url("shop", "/example.com"), headers=bearer(alice.token)).json()["status"]
        == "active"
    )

    queue.huey.flush()
    removed = client.delete(url("shop", "/example.com"), headers=bearer(alice.token))
    assert removed.status_code == 204, removed.text
    with sessions() as session:
        assert session.scalar(select(Domain)) is None
        assert session.get(ProxyTableRow, "example.com") is None  # not served at once
    assert [name for name, _ in pending(queue)] == ["devpush.routes_refresh"]
    assert client.get(url("shop"), headers=bearer(alice.token)).json() == []
    gone = client.delete(url("shop", "/example.com"), headers=bearer(alice.token))
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"name": "203.0.113.7"}, 422, "is an IP address"),
        ({"name": "shop.localhost"}, 422, "under this server's own domain"),
        ({"name": "localhost"}, 422, "needs a dot"),
        ({"name": "bad_name.example.com"}, 422, "not a valid domain name"),
        ({"name": "example.com", "environment": "staging"}, 422, "no environment 'staging'"),
        (
            {"name": "example.com", "redirect_to": "other.com"},
            422,
            "can redirect only to www.example.com",
        ),
        ({"name": "example.com", "redirect_to": "www.example.com"}, 422, "add www.example.com"),
        ({"name": "example.com", "owner": "me"}, 422, "Extra inputs are not permitted"),
        ({}, 422, "Field required"),
    ],
)
def test_bad_names_and_bodies_say_why(
    client: TestClient, two_teams: TwoTeams, body: dict, status: int, says: str
) -> None:
    response = client.post(url("shop"), json=body, headers=bearer(two_teams.alice.token))
    assert response.status_code == status, response.text
    assert says in response.text


def test_a_name_belongs_to_one_environment_on_the_server(
    client: TestClient, two_teams: TwoTeams
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    assert (
        client.post(
            url("shop"), json={"name": "example.com"}, headers=bearer(alice.token)
        ).status_code
        == 201
    )
    again = client.post(url("shop"), json={"name": "example.com."}, headers=bearer(alice.token))
    assert again.status_code == 409
    assert "already a domain of this project (production)" in again.json()["detail"]
    # Bob's team: refused, without saying whose it is.
    taken = client.post(url("shop"), json={"name": "EXAMPLE.com"}, headers=bearer(bob.token))
    assert taken.status_code == 409
    assert "already used by another project on this server" in taken.json()["detail"]
    assert "Team A" not in taken.text and alice.project_id not in taken.text
    # Bob cannot see or remove Alice's domains: her project is not found for him.
    other = client.get(url(alice.project_id), headers=bearer(bob.token))
    assert other.status_code == 404
    removed = client.delete(url(alice.project_id, "/example.com"), headers=bearer(bob.token))
    assert removed.status_code == 404
    # And in his own project the name is not found either.
    assert client.delete(url("shop", "/example.com"), headers=bearer(bob.token)).status_code == 404


def test_www_redirects_to_its_apex_which_cannot_go_first(
    client: TestClient, two_teams: TwoTeams
) -> None:
    token = bearer(two_teams.alice.token)
    assert client.post(url("shop"), json={"name": "example.com"}, headers=token).status_code == 201
    www = client.post(
        url("shop"), json={"name": "www.example.com", "redirect_to": "example.com"}, headers=token
    )
    assert www.status_code == 201, www.text
    assert www.json()["redirect_to"] == "example.com"
    refused = client.delete(url("shop", "/example.com"), headers=token)
    assert refused.status_code == 409
    assert "www.example.com redirects to example.com" in refused.json()["detail"]
    assert client.delete(url("shop", "/www.example.com"), headers=token).status_code == 204
    assert client.delete(url("shop", "/example.com"), headers=token).status_code == 204


def test_members_read_but_do_not_change(
    client: TestClient, two_teams: TwoTeams, carol_token: str
) -> None:
    token = bearer(two_teams.alice.token)
    assert client.post(url("shop"), json={"name": "example.com"}, headers=token).status_code == 201
    assert (
        client.get(url(two_teams.alice.project_id), headers=bearer(carol_token)).status_code == 200
    )
    for method, tail in (("POST", ""), ("POST", "/example.com/check"), ("DELETE", "/example.com")):
        response = client.request(
            method,
            url(two_teams.alice.project_id, tail),
            json={"name": "x.example.com"} if not tail else None,
            headers=bearer(carol_token),
        )
        assert response.status_code == 403, (method, tail, response.text)


def test_check_again_starts_the_back_off_over(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue, sessions: sessionmaker[Session]
) -> None:
    token = bearer(two_teams.alice.token)
    client.post(url("shop"), json={"name": "example.com"}, headers=token)
    with sessions() as session:
        domain = session.scalar(select(Domain))
        assert domain is not None
        domain.status, domain.attempts, domain.reason = DomainStatus.FAILED, 11, "gave up"
        session.commit()
    queue.huey.flush()
    checked = client.post(url("shop", "/example.com/check"), headers=token)
    assert checked.status_code == 200, checked.text
    assert (checked.json()["status"], checked.json()["attempts"]) == ("pending", 0)
    assert [name for name, _ in pending(queue)] == ["devpush.domain_check"]


def test_the_redirect_is_a_choice_that_can_change(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue
) -> None:
    token = bearer(two_teams.alice.token)
    for name in ("example.com", "www.example.com"):
        assert client.post(url("shop"), json={"name": name}, headers=token).status_code == 201
    queue.huey.flush()
    www = client.patch(
        url("shop", "/www.example.com"), json={"redirect_to": "example.com"}, headers=token
    )
    assert www.status_code == 200, www.text
    assert www.json()["redirect_to"] == "example.com"
    assert [name for name, _ in pending(queue)] == ["devpush.routes_refresh"]
    # Not both ways at once, and only to the twin.
    loop = client.patch(
        url("shop", "/example.com"), json={"redirect_to": "www.example.com"}, headers=token
    )
    assert loop.status_code == 422
    assert "www.example.com redirects to example.com" in loop.json()["detail"]
    other = client.patch(
        url("shop", "/www.example.com"), json={"redirect_to": "shop.example.com"}, headers=token
    )
    assert other.status_code == 422
    # The other way round: apex to www.
    assert (
        client.patch(
            url("shop", "/www.example.com"), json={"redirect_to": None}, headers=token
        ).json()["redirect_to"]
        is None
    )
    apex = client.patch(
        url("shop", "/example.com"), json={"redirect_to": "www.example.com"}, headers=token
    )
    assert apex.status_code == 200 and apex.json()["redirect_to"] == "www.example.com"
    assert client.patch(url("shop", "/example.com"), json={}, headers=token).status_code == 422
