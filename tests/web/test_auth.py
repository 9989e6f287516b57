from fastapi.testclient import TestClient
from pydantic import SecretStr

from devpush.core.config import Settings
from devpush.main import create_app
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import PASSWORD, TwoTeams, csrf_token, log_in


def test_pages_need_a_session(client: TestClient) -> None:
    response = client.get("/projects", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    # htmx fragments get an HX-Redirect, not a login page swapped into the fragment.
    response = client.get("/projects", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.headers["HX-Redirect"] == "/login"


def test_log_in_and_out(client: TestClient, two_teams: TwoTeams) -> None:
    token = log_in(client, "alice@example.org")
    page = client.get("/projects")
    assert page.status_code == 200
    assert "alice@example.org" in page.text
    assert "Team A" in page.text
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert client.get("/projects", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused(client: TestClient, two_teams: TwoTeams) -> None:
    token = csrf_token(client)
    response = client.post(
        "/login", data={"email": "alice@example.org", "password": "nope", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "Wrong e-mail or password" in response.text
    assert client.get("/projects", follow_redirects=False).status_code == 303


def test_csrf_is_required_on_every_post(client: TestClient, two_teams: TwoTeams) -> None:
    # Log-in itself: no token, and a token from another session.
    form = {"email": "alice@example.org", "password": PASSWORD}
    assert client.post("/login", data=form).status_code == 403
    other = TestClient(client.app)
    assert client.post("/login", data={**form, "csrf_token": csrf_token(other)}).status_code == 403

    token = log_in(client, "alice@example.org")
    project = {"name": "X", "repo_url": "/srv/x", "start_command": "true", "port": "8000"}
    for path, data in [
        ("/projects", project),
        (f"/projects/{two_teams.alice.project_slug}/deployments", {"branch": "main"}),
        ("/settings/tokens", {"name": "t"}),
        ("/logout", {}),
    ]:
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403, path
    # The header htmx sends works as well as the form field.
    response = client.post("/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert response.status_code == 303


def test_log_in_rotates_the_csrf_token(client: TestClient, two_teams: TwoTeams) -> None:
    before = csrf_token(client)
    after = log_in(client, "alice@example.org")
    assert before != after


def test_session_cookie_is_secure_outside_development(
    settings: Settings, queue: DeployQueue, two_teams: TwoTeams
) -> None:
    production = settings.model_copy(
        update={"environment": "production", "secret_key": SecretStr("a-real-secret")}
    )
    with TestClient(create_app(production, queue=queue), base_url="https://testserver") as c:
        cookie = c.get("/login").headers["set-cookie"].lower()
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_dev_cookie_is_lax_and_not_https_only(client: TestClient) -> None:
    cookie = client.get("/login").headers["set-cookie"].lower()
    assert "samesite=lax" in cookie
    assert "secure" not in cookie
