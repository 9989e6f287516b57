"""The "Git access" section of the settings page and "Deploy a commit" on the project page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.crypto import fernet_for
from devpush.services.project_git import project_credentials
from tests.fixtures.web import (
    SECRET_KEY,
    TwoTeams,
    add_carol,
    log_in,
    project_row,
    requested_commits,
)


def test_owner_sets_a_deploy_key_and_a_token_the_page_never_shows(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        row = project_row(sessions, two_teams.alice.project_id)
        row = session.merge(row)
        row.repo_url = "git@git.example.org:team/shop.git"
        session.commit()
    csrf = log_in(client, two_teams.alice.email)
    page = client.get("/projects/shop/settings")
    assert 'id="git"' in page.text and "Generate a deploy key" in page.text
    made = client.post(
        "/projects/shop/settings/git/deploy-key", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert made.status_code == 200
    public = project_row(sessions, two_teams.alice.project_id).deploy_key_public
    assert public and public in made.text and "PRIVATE" not in made.text
    bad_hosts = client.post(
        "/projects/shop/settings/git/host-keys",
        data={"csrf_token": csrf, "known_hosts": "not a line"},
    )
    assert bad_hosts.status_code == 422 and "known_hosts line" in bad_hosts.text
    too_often = client.post(
        "/projects/shop/settings/git/poll", data={"csrf_token": csrf, "interval": "5"}
    )
    assert too_often.status_code == 422 and "at least 60 seconds" in too_often.text

    with sessions() as session:
        row = session.merge(project_row(sessions, two_teams.alice.project_id))
        row.repo_url = "https://git.example.org/team/shop.git"
        session.commit()
    token = "glpat-" + "z9" * 10
    saved = client.post(
        "/projects/shop/settings/git/token",
        data={"csrf_token": csrf, "token": token, "username": "oauth2"},
        follow_redirects=True,
    )
    assert saved.status_code == 200
    assert "A token is set (user name <code>oauth2</code>)" in saved.text
    assert token not in saved.text
    stored = project_row(sessions, two_teams.alice.project_id)
    assert project_credentials(stored, fernet_for(SECRET_KEY)).token == token


def test_a_member_cannot_change_git_access(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    add_carol(sessions, two_teams)
    csrf = log_in(client, "carol@example.org")
    refused = client.post("/projects/shop/settings/git/deploy-key", data={"csrf_token": csrf})
    assert refused.status_code == 403


def test_deploy_a_chosen_commit_from_the_project_page(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    csrf = log_in(client, two_teams.alice.email)
    assert 'name="commit"' in client.get("/projects/shop").text
    sha = "b" * 40
    made = client.post(
        "/projects/shop/deployments",
        data={"csrf_token": csrf, "branch": "main", "commit": sha},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    bad = client.post(
        "/projects/shop/deployments", data={"csrf_token": csrf, "branch": "main", "commit": "abc"}
    )
    assert bad.status_code == 422 and "full 40-character SHA" in bad.text
    assert sha in requested_commits(sessions, two_teams.alice.project_id)


def test_an_ssh_project_is_created_then_asks_for_its_deploy_key(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    csrf = log_in(client, two_teams.alice.email)
    made = client.post(
        "/projects",
        data={
            "csrf_token": csrf,
            "name": "Private",
            "slug": "private",
            "repo_url": "git@git.example.org:team/private.git",
            "default_branch": "main",
            "runner_image": "devpush/runner-python:local",
            "start_command": "python3 app.py",
            "port": "8000",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"].endswith("/projects/private/settings#git")
    page = client.get("/projects/private/settings")
    assert "Generate a deploy key" in page.text
    checked = client.post("/projects/private/settings/git/check", data={"csrf_token": csrf})
    assert "generate a deploy key in Settings → Git" in checked.text
