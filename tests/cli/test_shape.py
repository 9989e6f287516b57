"""The CLI's shape and its ways in: ``login --token``, ``DEVPUSH_TOKEN``, ``projects list``.

Against the real app served by uvicorn on 127.0.0.1; the last test installs the command the
way the README says (``uv tool install``) and runs it from the PATH.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from tests.fixtures.web import PASSWORD, TwoTeams

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def alice_token(live_url: str, two_teams: TwoTeams) -> str:
    made = httpx.post(
        f"{live_url}/api/v1/tokens",
        json={"email": "alice@example.org", "password": PASSWORD, "name": "from the web"},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


def test_login_with_an_existing_token(
    live_url: str, alice_token: str, two_teams: TwoTeams, cli_env: dict[str, str]
) -> None:
    refused = runner.invoke(cli, ["login", "--url", live_url, "--token", "dp_nope"], env=cli_env)
    assert refused.exit_code == 1
    assert "the server refused the token" in refused.output
    assert not Path(cli_env[CONFIG_ENV]).exists()

    done = runner.invoke(cli, ["login", "--url", live_url, "--token", alice_token], env=cli_env)
    assert done.exit_code == 0, done.output
    assert "as alice@example.org" in done.output
    assert json.loads(Path(cli_env[CONFIG_ENV]).read_text()) == {
        "url": live_url,
        "token": alice_token,
    }
    # No new token was made: the saved one is the given one.
    listed = runner.invoke(cli, ["projects", "list"], env=cli_env)
    assert listed.exit_code == 0, listed.output
    assert two_teams.alice.project_id in listed.output


def test_login_reads_the_token_from_stdin(
    live_url: str, alice_token: str, cli_env: dict[str, str]
) -> None:
    done = runner.invoke(
        cli, ["login", "--url", live_url, "--token", "-"], input=alice_token + "\n", env=cli_env
    )
    assert done.exit_code == 0, done.output
    assert json.loads(Path(cli_env[CONFIG_ENV]).read_text())["token"] == alice_token


def test_devpush_token_needs_no_login(
    live_url: str, alice_token: str, two_teams: TwoTeams, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "DEVPUSH_TOKEN": alice_token, "DEVPUSH_URL": live_url}
    listed = runner.invoke(cli, ["projects", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert two_teams.alice.project_id in listed.output
    assert two_teams.bob.project_id not in listed.output
    assert not Path(cli_env[CONFIG_ENV]).exists()

    no_url = runner.invoke(cli, ["projects", "list"], env={**cli_env, "DEVPUSH_TOKEN": "dp_x"})
    assert no_url.exit_code == 1
    assert "DEVPUSH_TOKEN is set but no server is known: set DEVPUSH_URL" in no_url.output

    wrong = runner.invoke(cli, ["projects", "list"], env={**env, "DEVPUSH_TOKEN": "dp_wrong"})
    assert wrong.exit_code == 1
    assert "401" in wrong.output or "token" in wrong.output


def test_commands_follow_one_shape(
    live_url: str, alice_token: str, two_teams: TwoTeams, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "DEVPUSH_TOKEN": alice_token, "DEVPUSH_URL": live_url}
    both = [runner.invoke(cli, argv, env=env) for argv in (["projects", "list"], ["projects"])]
    assert [r.exit_code for r in both] == [0, 0], [r.output for r in both]
    assert both[0].output == both[1].output
    helped = runner.invoke(cli, ["projects", "--help"], env=env)
    assert "list" in helped.output and "create" in helped.output


def test_the_readme_install_puts_devpush_on_the_path(
    tmp_path: Path, live_url: str, alice_token: str, two_teams: TwoTeams
) -> None:
    # README, "CLI": `uv tool install .` from the checkout (`uv tool update-shell` adds the
    # bin directory to the shell's PATH once).
    tool_bin = tmp_path / "bin"
    env = {
        **os.environ,
        "UV_TOOL_DIR": str(tmp_path / "tools"),
        "UV_TOOL_BIN_DIR": str(tool_bin),
        "HOME": str(tmp_path),
    }
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        ["uv", "tool", "install", "--quiet", str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"uv tool install failed (is PyPI reachable?)\n{done.stderr}"
    path = f"{tool_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    run_env = {"PATH": path, "HOME": str(tmp_path), "COLUMNS": "200"}
    login = subprocess.run(
        ["devpush", "login", "--url", live_url, "--token", alice_token],
        env=run_env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert login.returncode == 0, login.stderr
    listed = subprocess.run(
        ["devpush", "projects", "list"], env=run_env, capture_output=True, text=True, cwd=tmp_path
    )
    assert listed.returncode == 0, listed.stderr
    assert two_teams.alice.project_id in listed.stdout
