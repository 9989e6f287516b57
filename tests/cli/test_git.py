"""``devpush git …`` and ``devpush deploy --commit`` against the real app on 127.0.0.1."""

from __future__ import annotations

import httpx
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.core.crypto import fernet_for
from devpush.services.project_git import project_credentials
from tests.fixtures.web import SECRET_KEY, TwoTeams, project_row, requested_commits

runner = CliRunner()


def test_deploy_key_token_and_poller(
    alice_cli: dict[str, str], two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    made = runner.invoke(cli, ["git", "deploy-key", "shop"], env=alice_cli)
    assert made.exit_code == 0, made.output
    public = project_row(sessions, two_teams.alice.project_id).deploy_key_public
    assert public and public in made.output and public.endswith(" devpush-shop")
    assert "PRIVATE" not in made.output

    token = "ghp_" + "x1" * 18
    set_token = runner.invoke(
        cli, ["git", "set-token", "shop", "--token-file", "-"], input=token + "\n", env=alice_cli
    )
    assert set_token.exit_code == 0, set_token.output
    assert "Token: set (user name x-access-token)" in set_token.output
    assert token not in set_token.output
    project = project_row(sessions, two_teams.alice.project_id)
    assert project_credentials(project, fernet_for(SECRET_KEY)).token == token
    assert token not in (project.git_token_encrypted or "")

    too_often = runner.invoke(cli, ["git", "poll", "shop", "--every", "5"], env=alice_cli)
    assert too_often.exit_code == 1
    assert "at least 60 seconds" in too_often.output
    polled = runner.invoke(cli, ["git", "poll", "shop", "--every", "120"], env=alice_cli)
    assert "Poller: every 120 s" in polled.output
    assert project_row(sessions, two_teams.alice.project_id).poll_interval_seconds == 120

    unset = runner.invoke(cli, ["git", "unset-token", "shop"], env=alice_cli)
    assert unset.exit_code == 0, unset.output
    assert project_row(sessions, two_teams.alice.project_id).git_token_encrypted is None

    bad = runner.invoke(cli, ["git", "check", "shop"], env=alice_cli)
    assert bad.exit_code == 1  # git.example.org does not resolve here: said, not a crash


def test_api_answers_hold_no_secret_and_owners_only_change(
    live_url: str, two_teams: TwoTeams
) -> None:
    alice = {"Authorization": f"Bearer {two_teams.alice.token}"}
    bob = {"Authorization": f"Bearer {two_teams.bob.token}"}
    base = f"{live_url}/api/v1/projects/{two_teams.alice.project_id}/git"
    made = httpx.post(f"{base}/deploy-key", headers=alice)
    assert made.status_code == 201, made.text
    assert set(made.json()) == {"deploy_key_public"}
    token = "glpat-" + "y2" * 12
    shown = httpx.put(f"{base}/token", headers=alice, json={"token": token})
    assert shown.status_code == 200, shown.text
    assert token not in shown.text and "PRIVATE" not in shown.text
    assert shown.json()["token_username"] == "x-access-token"
    assert httpx.get(base, headers=bob).status_code == 404
    assert httpx.post(f"{base}/deploy-key", headers=bob).status_code == 404
    bad_hosts = httpx.put(f"{base}/host-keys", headers=alice, json={"known_hosts": "nope"})
    assert bad_hosts.status_code == 422 and "known_hosts" in bad_hosts.text
    unknown = httpx.put(f"{base}/token", headers=alice, json={"token": "t", "extra": 1})
    assert unknown.status_code == 422


def test_deploy_a_chosen_commit(
    alice_cli: dict[str, str], two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    sha = "a" * 40
    result = runner.invoke(cli, ["deploy", "shop", "--commit", sha, "--no-wait"], env=alice_cli)
    assert result.exit_code == 0, result.output
    assert sha in requested_commits(sessions, two_teams.alice.project_id)


def test_create_an_ssh_project_then_its_deploy_key(alice_cli: dict[str, str]) -> None:
    created = runner.invoke(
        cli,
        ["projects", "create", "--name", "Private", "--start-command", "python3 app.py",
         "--repo", "git@git.example.org:team/private.git",
         "--image", "devpush/runner-python:local"],
        env=alice_cli,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "devpush git deploy-key private" in created.output
    shown = runner.invoke(cli, ["git", "show", "private"], env=alice_cli)
    assert "Access: none" in shown.output
    checked = runner.invoke(cli, ["git", "check", "private"], env=alice_cli)
    assert checked.exit_code == 1
    assert "generate a deploy key" in checked.output
