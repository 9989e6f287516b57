"""Web sign-ins live on the server: a copied cookie stops working when the sign-in ends.

Each test replays a real cookie with a second TestClient (what an attacker holding a
copy would send), after logout, a password change or a removal from the team; and the
log-in rate limit, per account and per address, in the web form and the API.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import User
from devpush.services.sessions import count_sessions
from tests.fixtures.web import PASSWORD, TwoTeams, add_carol, csrf_token, log_in

COOKIE = "devpush_session"


pytestmark = pytest.mark.both_databases


def _replay(client: TestClient, cookie: str) -> TestClient:
    """A new client (another browser) sending a saved copy of the session cookie."""
    copy = TestClient(client.app)
    copy.cookies.set(COOKIE, cookie)
    return copy


def _signed_in(client: TestClient) -> bool:
    response = client.get("/projects", follow_redirects=False)
    return response.status_code == 200


def test_a_cookie_saved_before_logout_is_refused_after_it(
    client: TestClient, two_teams: TwoTeams
) -> None:
    token = log_in(client, two_teams.alice.email)
    saved = client.cookies[COOKIE]
    assert _signed_in(_replay(client, saved))
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    replay = _replay(client, saved)
    response = replay.get("/projects", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    # Nor can the copy act: its CSRF token is still in the signed cookie, the sign-in is not.
    response = replay.post(
        f"/projects/{two_teams.alice.project_slug}/deployments",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_logout_ends_only_that_sign_in(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    other = TestClient(client.app)
    log_in(other, two_teams.alice.email)
    token = log_in(client, two_teams.alice.email)
    with sessions() as session:
        assert count_sessions(session, user_id=two_teams.alice.user_id) == 2
    client.post("/logout", data={"csrf_token": token})
    assert _signed_in(other)
    assert not _signed_in(client)


def test_a_password_change_ends_the_other_sign_ins(client: TestClient, two_teams: TwoTeams) -> None:
    other = TestClient(client.app)
    log_in(other, two_teams.alice.email)
    saved = other.cookies[COOKIE]
    token = log_in(client, two_teams.alice.email)
    wrong = client.post(
        "/settings/password",
        data={
            "current_password": "not it",
            "new_password": "a new password",
            "confirm_password": "a new password",
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 422
    assert "current password is wrong" in wrong.text
    assert _signed_in(other)
    response = client.post(
        "/settings/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a new password",
            "confirm_password": "a new password",
            "csrf_token": token,
        },
    )
    assert response.status_code == 200
    assert "Password changed" in response.text
    assert _signed_in(client)  # the browser that changed it stays signed in
    assert not _signed_in(other)
    assert not _signed_in(_replay(client, saved))
    # The new password works, the old one does not.
    fresh = TestClient(client.app)
    log_in(fresh, two_teams.alice.email, "a new password")
    assert (
        "Wrong e-mail"
        in fresh.post(
            "/login",
            data={
                "email": two_teams.alice.email,
                "password": PASSWORD,
                "csrf_token": csrf_token(fresh),
            },
        ).text
    )


def test_the_api_changes_the_password_and_ends_web_sign_ins(
    client: TestClient, two_teams: TwoTeams
) -> None:
    log_in(client, two_teams.alice.email)
    headers = {"Authorization": f"Bearer {two_teams.alice.token}"}
    body = {"current_password": "wrong", "new_password": "another password"}
    assert client.put("/api/v1/me/password", json=body, headers=headers).status_code == 403
    assert _signed_in(client)
    body["current_password"] = PASSWORD
    assert client.put("/api/v1/me/password", json=body, headers=headers).status_code == 204
    assert not _signed_in(client)


def test_removal_from_a_team_ends_the_members_sign_ins(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    carol_id = add_carol(sessions, two_teams)
    carol_browser = TestClient(client.app)
    log_in(carol_browser, "carol@example.org")
    saved = carol_browser.cookies[COOKIE]
    assert _signed_in(carol_browser)

    token = log_in(client, two_teams.alice.email)
    response = client.post(
        f"/settings/team/members/{carol_id}/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert not _signed_in(carol_browser)
    assert not _signed_in(_replay(client, saved))
    with sessions() as session:
        assert session.get(User, carol_id) is not None  # the account stays


def _fail_login(client: TestClient, email: str) -> int:
    response = client.post(
        "/login", data={"email": email, "password": "wrong", "csrf_token": csrf_token(client)}
    )
    return response.status_code


def test_login_is_rate_limited_per_account(client: TestClient, two_teams: TwoTeams) -> None:
    alice = two_teams.alice.email
    assert [_fail_login(client, alice) for _ in range(5)] == [400] * 5
    # The sixth attempt is refused before the password is checked: the right one too.
    response = client.post(
        "/login",
        data={"email": alice, "password": PASSWORD, "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.text
    assert "Wait 15 minutes" in response.text
    # The API's token exchange shares the count: 429 with Retry-After.
    api = client.post("/api/v1/tokens", json={"email": alice, "password": PASSWORD})
    assert api.status_code == 429
    assert api.headers["retry-after"] == "900"
    # Another account (from another address in real life) is not affected by Alice's count.
    log_in(TestClient(client.app), two_teams.bob.email)


def test_login_is_rate_limited_per_address(client: TestClient, two_teams: TwoTeams) -> None:
    # 20 failures from one address over several accounts (4 each, under the account limit).
    for n in range(5):
        for _ in range(4):
            assert _fail_login(client, f"guess{n}@example.org") == 400
    response = client.post(
        "/login",
        data={"email": two_teams.bob.email, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 429


def test_api_login_failures_count_and_success_clears_the_account(
    client: TestClient, two_teams: TwoTeams
) -> None:
    alice = two_teams.alice.email
    for _ in range(4):
        assert (
            client.post("/api/v1/tokens", json={"email": alice, "password": "x"}).status_code == 401
        )
    ok = client.post("/api/v1/tokens", json={"email": alice, "password": PASSWORD})
    assert ok.status_code == 201
    # The success cleared Alice's count: four more failures are still allowed.
    for _ in range(4):
        assert (
            client.post("/api/v1/tokens", json={"email": alice, "password": "x"}).status_code == 401
        )
    assert (
        client.post("/api/v1/tokens", json={"email": alice, "password": PASSWORD}).status_code
        == 201
    )
