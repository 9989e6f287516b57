"""The devpush CLI against the real app served by uvicorn on 127.0.0.1 (in a thread).

No worker runs here: a thread plays the worker's part by moving the deployment
through the deploy service's own ``transition`` (the real worker is tested with
Docker in its own tests).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from devpush.models import Deployment
from devpush.workers.queue import DeployQueue
from tests.cli.played_worker import _play_worker, _served_statuses
from tests.fixtures.web import PASSWORD, TwoTeams, pending

runner = CliRunner()


def test_login_saves_the_token_privately(
    live_url: str, two_teams: TwoTeams, cli_env: dict[str, str]
) -> None:
    bad = runner.invoke(
        cli,
        ["login", "--url", live_url, "--email", "alice@example.org", "--password", "nope"],
        env=cli_env,
    )
    assert bad.exit_code == 1
    assert "wrong e-mail or password" in bad.output
    assert not Path(cli_env[CONFIG_ENV]).exists()

    result = runner.invoke(
        cli,
        ["login", "--url", live_url + "/", "--email", "alice@example.org", "--password", PASSWORD],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    path = Path(cli_env[CONFIG_ENV])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["url"] == live_url
    assert saved["token"].startswith("dp_")


def test_commands_need_a_login(cli_env: dict[str, str]) -> None:
    result = runner.invoke(cli, ["projects"], env=cli_env)
    assert result.exit_code == 1
    assert "devpush login" in result.output


def test_projects_lists_the_teams_projects(alice_cli: dict[str, str], two_teams: TwoTeams) -> None:
    result = runner.invoke(cli, ["projects"], env=alice_cli)
    assert result.exit_code == 0, result.output
    assert two_teams.alice.project_id in result.output
    assert two_teams.bob.project_id not in result.output


@pytest.mark.parametrize("fail", [False, True], ids=["running", "failed"])
def test_deploy_follows_the_deployment(
    alice_cli: dict[str, str],
    two_teams: TwoTeams,
    queue: DeployQueue,
    sessions: sessionmaker[Session],
    web_app: FastAPI,
    fail: bool,
) -> None:
    served = _served_statuses(web_app)
    worker = _play_worker(sessions, queue, served, before=len(pending(queue)), fail=fail)
    result = runner.invoke(
        cli,
        ["deploy", two_teams.alice.project_slug, "--branch", "main", "--interval", "0.1"],
        env=alice_cli,
    )
    worker.join(timeout=30)
    assert "building (01234567)" in result.output
    if fail:
        assert result.exit_code == 1
        assert "build command failed (exit code 2)" in result.output
    else:
        assert result.exit_code == 0, result.output
        assert "Running." in result.output
        slug = two_teams.alice.project_slug
        assert f"Environment URL: http://{slug}.localhost:8080/" in result.output
        assert f"-{slug}.localhost:8080/" in result.output  # the deployment's own URL


def test_deploy_times_out_and_refuses_other_teams(
    alice_cli: dict[str, str], two_teams: TwoTeams
) -> None:
    result = runner.invoke(
        cli,
        ["deploy", two_teams.alice.project_slug, "--timeout", "0.3", "--interval", "0.1"],
        env=alice_cli,
    )
    assert result.exit_code == 2
    assert "still queued" in result.output
    result = runner.invoke(cli, ["deploy", two_teams.bob.project_id], env=alice_cli)
    assert result.exit_code == 1
    assert "404" in result.output


@pytest.fixture
def admin_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DEVPUSH_DATABASE_URL": f"sqlite:///{tmp_path / 'admin.sqlite3'}",
        "DEVPUSH_DATA_DIR": str(tmp_path),
    }


def _devpush(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # The installed entry point, as scripts/dev/local.sh runs it.
    executable = Path(sys.executable).parent / "devpush"
    return subprocess.run(
        [str(executable), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_admin_migrate_and_ensure_user(admin_env: dict[str, str]) -> None:
    assert _devpush(admin_env, "admin", "migrate").returncode == 0
    args = ("admin", "ensure-user", "--email", "ops@example.org", "--team", "Ops")
    first = _devpush({**admin_env, "DEVPUSH_ADMIN_PASSWORD": "password-1"}, *args)
    assert first.returncode == 0, first.stderr
    assert "Created user ops@example.org" in first.stdout
    again = _devpush(admin_env, *args, "--password", "password-2")
    assert again.returncode == 0, again.stderr
    assert "already exists" in again.stdout
    other = _devpush(
        admin_env, "admin", "ensure-user", "--email", "x@example.org", "--password", "password-3"
    )
    assert "Users already exist" in other.stdout

    from devpush.core.db import create_db_engine
    from devpush.models import User
    from devpush.services.users import authenticate

    engine = create_db_engine(admin_env["DEVPUSH_DATABASE_URL"])
    with Session(engine) as session:
        assert session.scalars(select(User.email)).all() == ["ops@example.org"]
        assert authenticate(session, email="ops@example.org", password="password-1") is not None
        assert session.scalars(select(Deployment)).all() == []
    engine.dispose()
