"""The team page (owners add, change and remove members) and the admin's add-user page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.services.teams import role_in_team
from devpush.services.users import ensure_first_user
from tests.fixtures.web import PASSWORD, Member, TwoTeams, log_in, make_admin
from tests.web.forms import redirected

pytestmark = pytest.mark.both_databases


def test_owner_adds_changes_and_removes_members(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    token = log_in(client, alice.email)
    page = client.get("/settings/team")
    assert page.status_code == 200 and 'id="add-member"' in page.text
    unknown = client.post(
        "/settings/team/members", data={"email": "nobody@example.org", "csrf_token": token}
    )
    assert unknown.status_code == 422 and "an admin adds new users" in unknown.text
    redirected(
        client,
        "/settings/team/members",
        {"email": "BOB@example.org", "role": "member", "csrf_token": token},
    )
    assert "bob@example.org" in client.get("/settings/team").text
    twice = client.post("/settings/team/members", data={"email": bob.email, "csrf_token": token})
    assert twice.status_code == 422 and "already in this team" in twice.text

    # Bob, a member of Team A now: sees the page without the owner's forms, and 403 on them.
    bob_browser = TestClient(client.app)
    bob_token = log_in(bob_browser, bob.email)
    bob_browser.post("/teams/switch", data={"team_id": alice.team_id, "csrf_token": bob_token})
    page = bob_browser.get("/settings/team")
    assert page.status_code == 200 and 'id="add-member"' not in page.text
    for path, data in [
        ("/settings/team/members", {"email": bob.email}),
        (f"/settings/team/members/{alice.user_id}/role", {"role": "member"}),
        (f"/settings/team/members/{alice.user_id}/remove", {}),
    ]:
        assert bob_browser.post(path, data={**data, "csrf_token": bob_token}).status_code == 403

    # Alice promotes Bob, demotes him again, then removes him.
    client.post(
        f"/settings/team/members/{bob.user_id}/role", data={"role": "owner", "csrf_token": token}
    )
    with sessions() as session:
        assert role_in_team(session, user_id=bob.user_id, team_id=alice.team_id) == "owner"
    client.post(
        f"/settings/team/members/{bob.user_id}/role", data={"role": "member", "csrf_token": token}
    )
    redirected(client, f"/settings/team/members/{bob.user_id}/remove", {"csrf_token": token})
    with sessions() as session:
        assert role_in_team(session, user_id=bob.user_id, team_id=alice.team_id) is None
    # The last owner stays.
    last = client.post(f"/settings/team/members/{alice.user_id}/remove", data={"csrf_token": token})
    assert last.status_code == 409 and "at least one owner" in last.text
    assert (
        client.post(
            f"/settings/team/members/{bob.user_id}/remove", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_only_admins_add_users_in_the_web_app(
    client: TestClient, alice: Member, csrf: str, sessions: sessionmaker[Session]
) -> None:
    assert "/settings/users" not in client.get("/projects").text
    assert client.get("/settings/users").status_code == 403
    form = {"email": "dave@example.org", "password": "dave-password", "csrf_token": csrf}
    assert client.post("/settings/users", data=form).status_code == 403

    make_admin(sessions, alice.user_id)
    assert 'href="/settings/users"' in client.get("/projects").text
    short = client.post("/settings/users", data={**form, "password": "short"})
    assert short.status_code == 422 and "at least 8 characters" in short.text
    created = client.post("/settings/users", data=form)
    assert created.status_code == 200 and "Added dave@example.org to Team A" in created.text
    exists = client.post("/settings/users", data=form)
    assert exists.status_code == 422 and "exists" in exists.text
    own = client.post(
        "/settings/users",
        data={**form, "email": "erin@example.org", "name": "Erin", "placement": "own"},
    )
    assert "Added erin@example.org to Erin" in own.text
    dave = TestClient(client.app)
    log_in(dave, "dave@example.org", "dave-password")
    assert "Shop" in dave.get("/projects").text


def test_the_first_user_is_an_admin(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        result = ensure_first_user(
            session, email="root@example.org", password=PASSWORD, team_name="Ops"
        )
        assert result.user is not None and result.user.is_admin
