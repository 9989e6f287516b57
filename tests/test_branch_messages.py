"""One message for a branch git would refuse: the web forms, the JSON API and the CLI."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from tests.fixtures.web import PASSWORD, TwoTeams, log_in
from tests.web.forms import FORM

DEPLOY = "a/.x"
DEPLOY_MESSAGE = "not a valid git branch name: 'a/.x' has a part starting with \".\""
DEFAULT = "foo.lock/bar"
DEFAULT_MESSAGE = "not a valid git branch name: 'foo.lock/bar' has a part ending with \".lock\""


def test_web_forms(client: TestClient, two_teams: TwoTeams) -> None:
    token = log_in(client, "alice@example.org")
    slug = two_teams.alice.project_slug
    response = client.post(
        f"/projects/{slug}/deployments", data={"branch": DEPLOY, "csrf_token": token}
    )
    assert response.status_code == 422
    assert DEPLOY_MESSAGE in html.unescape(response.text)
    # The new-project form of tests/web/forms.py, but for its default branch.
    form = {**FORM, "default_branch": DEFAULT, "csrf_token": token}
    response = client.post("/projects", data=form)
    assert response.status_code == 422
    assert DEFAULT_MESSAGE in html.unescape(response.text)


def test_api(client: TestClient, two_teams: TwoTeams) -> None:
    alice = two_teams.alice
    headers = {"Authorization": f"Bearer {alice.token}"}
    response = client.post(
        f"/api/v1/projects/{alice.project_id}/deployments", json={"branch": DEPLOY}, headers=headers
    )
    assert (response.status_code, response.json()["detail"]) == (422, DEPLOY_MESSAGE)


def test_cli(live_url: str, two_teams: TwoTeams, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {CONFIG_ENV: str(tmp_path / "config.json"), "COLUMNS": "200"}
    login = ["login", "--url", live_url, "--email", "alice@example.org", "--password", PASSWORD]
    assert runner.invoke(cli, login, env=env).exit_code == 0
    result = runner.invoke(
        cli, ["deploy", two_teams.alice.project_slug, "--branch", DEPLOY], env=env
    )
    assert result.exit_code == 1
    assert DEPLOY_MESSAGE in " ".join(result.output.split())
