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
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from devpush.deps import ApiTeamIds, SessionDep, api_deployment
from devpush.models import Deployment, DeploymentStatus
from devpush.services.deployments import transition
from devpush.workers.queue import DeployQueue
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


def _wait_for(condition: Callable[[], bool], what: str, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _served_statuses(web_app: FastAPI) -> list[DeploymentStatus]:
    """The status of every deployment the API serves from now on, in order."""
    served: list[DeploymentStatus] = []

    def recording(deployment_id: str, team_ids: ApiTeamIds, session: SessionDep) -> Deployment:
        deployment = api_deployment(deployment_id, team_ids, session)
        served.append(deployment.status)
        return deployment

    web_app.dependency_overrides[api_deployment] = recording
    return served


def _play_worker(
    sessions: sessionmaker[Session],
    queue: DeployQueue,
    served: list[DeploymentStatus],
    *,
    before: int,
    fail: bool,
) -> threading.Thread:
    """Once the CLI's deploy is enqueued, move it to building; once the CLI has read
    that, to running or failed."""

    def run() -> None:
        _wait_for(lambda: len(pending(queue)) > before, "the deploy to be enqueued")
        _, (deployment_id,) = pending(queue)[-1]
        with sessions() as session:
            transition(
                session,
                deployment_id=deployment_id,
                to=DeploymentStatus.BUILDING,
                commit_sha="0123456789abcdef0123456789abcdef01234567",
            )
            session.commit()
            _wait_for(lambda: DeploymentStatus.BUILDING in served, "the CLI to read building")
            if fail:
                transition(
                    session,
                    deployment_id=deployment_id,
                    to=DeploymentStatus.FAILED,
                    exit_code=2,
                    error="build command failed",
                )
            else:
                transition(
                    session,
                    deployment_id=deployment_id,
                    to=DeploymentStatus.RUNNING,
                    host_port=43210,
                )
            session.commit()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


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
