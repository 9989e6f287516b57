"""``devpush projects settings|delete``, ``devpush env`` and ``devpush members`` against the
real app on 127.0.0.1; ``devpush admin add-user`` on the real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.api.schemas import ProjectPublic
from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from devpush.core.crypto import decrypt_mapping, fernet_for
from devpush.models import Project, TeamMember, TeamRole, User
from devpush.services.deployments import create_deployment
from devpush.services.users import authenticate
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import PASSWORD, SECRET_KEY, TwoTeams, pending, project_row

runner = CliRunner()


def _login(url: str, email: str, env: dict[str, str]) -> None:
    args = ["login", "--url", url, "--email", email, "--password", PASSWORD]
    result = runner.invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output


def _variables(sessions: sessionmaker[Session], project_id: str) -> dict[str, str]:
    encrypted = project_row(sessions, project_id).env_vars_encrypted
    return decrypt_mapping(fernet_for(SECRET_KEY), encrypted) if encrypted else {}


def test_settings_show_and_change(
    alice_cli: dict[str, str], two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    shown = runner.invoke(cli, ["projects", "settings", "shop"], env=alice_cli)
    assert shown.exit_code == 0, shown.output
    assert "python3 -m http.server $PORT" in shown.output
    changed = runner.invoke(
        cli,
        ["projects", "settings", "shop", "--port", "9000", "--start-command", "python3 app.py"],
        env=alice_cli,
    )
    assert changed.exit_code == 0, changed.output
    assert "next deployment" in changed.output
    project = project_row(sessions, two_teams.alice.project_id)
    assert (project.port, project.start_command) == (9000, "python3 app.py")
    bad = runner.invoke(cli, ["projects", "settings", "shop", "--port", "0"], env=alice_cli)
    assert bad.exit_code == 1
    assert "port" in bad.output


def test_settings_show_what_the_server_answers_in_its_order(
    alice_cli: dict[str, str], two_teams: TwoTeams
) -> None:
    """The CLI names no field itself: each of ProjectPublic's is a row (a nested one's fields
    under its name), in the server's order; the lists (environments, variable names) are not."""
    wide = {**alice_cli, "COLUMNS": "200"}
    shown = runner.invoke(cli, ["projects", "settings", "shop"], env=wide)
    assert shown.exit_code == 0, shown.output
    cells = [line.split("│") for line in shown.output.splitlines() if line.count("│") == 3]
    rows = {cell[1].strip(): cell[2].strip() for cell in cells}
    assert list(dict.fromkeys(key.partition(".")[0] for key in rows)) == list(
        ProjectPublic.model_fields
    )
    assert rows["id"] == two_teams.alice.project_id
    assert (rows["port"], rows["memory_mb"]) == ("8000", "default")
    assert rows["health_check.interval_seconds"] == "off"
    assert rows["dockerfile.build_args"] == "-"


def test_env_set_list_unset(
    alice_cli: dict[str, str], two_teams: TwoTeams, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    result = runner.invoke(cli, ["env", "set", "shop", "GREETING=hi there"], env=alice_cli)
    assert result.exit_code == 0, result.output
    dotenv = tmp_path / "prod.env"
    dotenv.write_text('export MULTI="a\nb"\n# comment\nPLAIN=1\n')
    result = runner.invoke(
        cli,
        ["env", "set", "shop", "--env", "production", "--from-file", str(dotenv)],
        env=alice_cli,
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, ["env", "list", "shop"], env=alice_cli)
    assert "GREETING" in listed.output and "MULTI" in listed.output
    assert "hi there" not in listed.output and "s3cr3t-value" not in listed.output
    assert _variables(sessions, two_teams.alice.project_id)["GREETING"] == "hi there"
    result = runner.invoke(cli, ["env", "unset", "shop", "GREETING"], env=alice_cli)
    assert result.exit_code == 0, result.output
    assert "GREETING" not in _variables(sessions, two_teams.alice.project_id)
    bad = tmp_path / "bad.env"
    bad.write_text("OK=1\nnot a line\n")
    result = runner.invoke(cli, ["env", "set", "shop", "--from-file", str(bad)], env=alice_cli)
    assert result.exit_code == 1
    assert "line 2" in result.output


def test_delete_asks_for_the_name(
    alice_cli: dict[str, str],
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    queue: DeployQueue,
) -> None:
    alice = two_teams.alice
    wrong = runner.invoke(cli, ["projects", "delete", "shop"], input="nope\n", env=alice_cli)
    assert wrong.exit_code == 1
    assert "nothing deleted" in wrong.output
    assert project_row(sessions, alice.project_id).name == "Shop"
    before = len(pending(queue))
    done = runner.invoke(cli, ["projects", "delete", "shop"], input="Shop\n", env=alice_cli)
    assert done.exit_code == 0, done.output
    with sessions() as session:
        assert session.get(Project, alice.project_id) is None
    assert [args for _, args in pending(queue)[before:]] == [(alice.deployment_id,)]


def test_delete_environment_and_another_teams_404(
    live_url: str,
    alice_cli: dict[str, str],
    two_teams: TwoTeams,
    tmp_path: Path,
    sessions: sessionmaker[Session],
    queue: DeployQueue,
) -> None:
    alice = two_teams.alice
    with sessions() as session:
        project = session.get(Project, alice.project_id)
        assert project is not None
        create_deployment(session, project=project, branch="feature", created_by=None, queue=queue)
    # Bob, of another team, names Alice's project by id: 404 on every settings command.
    bob_env = {CONFIG_ENV: str(tmp_path / "bob.json"), "COLUMNS": "200"}
    _login(live_url, two_teams.bob.email, bob_env)
    for args in (
        ["projects", "settings", alice.project_id],
        ["projects", "settings", alice.project_id, "--port", "1"],
        ["env", "list", alice.project_id],
        ["env", "set", alice.project_id, "A=1"],
        ["projects", "delete-environment", alice.project_id, "feature"],
        ["projects", "delete", alice.project_id, "--confirm", "Shop"],
    ):
        refused = runner.invoke(cli, args, env=bob_env)
        assert refused.exit_code == 1 and "404" in refused.output, (args, refused.output)
    assert project_row(sessions, alice.project_id).port == 8000

    production = runner.invoke(
        cli, ["projects", "delete-environment", "shop", "production"], env=alice_cli
    )
    assert production.exit_code == 1 and "409" in production.output
    done = runner.invoke(cli, ["projects", "delete-environment", "shop", "feature"], env=alice_cli)
    assert done.exit_code == 0, done.output
    assert "Deleted environment feature" in done.output
    with sessions() as session:
        names = {e.name for e in session.get(Project, alice.project_id).environments}  # type: ignore[union-attr]
    assert names == {"production"}


def test_members_add_list_remove_and_member_refusals(
    live_url: str,
    alice_cli: dict[str, str],
    two_teams: TwoTeams,
    tmp_path: Path,
    sessions: sessionmaker[Session],
) -> None:
    added = runner.invoke(cli, ["members", "add", "bob@example.org"], env=alice_cli)
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["members", "list"], env=alice_cli)
    assert "bob@example.org" in listed.output and "member" in listed.output
    # Bob, now in two teams, is a member of Alice's: owner-only commands are refused.
    bob_env = {CONFIG_ENV: str(tmp_path / "bob.json"), "COLUMNS": "200"}
    _login(live_url, two_teams.bob.email, bob_env)
    alice_project = two_teams.alice.project_id
    refused = runner.invoke(
        cli, ["projects", "settings", alice_project, "--port", "1"], env=bob_env
    )
    assert refused.exit_code == 1
    assert "403" in refused.output and "only an owner" in refused.output
    refused = runner.invoke(cli, ["env", "set", alice_project, "A=1"], env=bob_env)
    assert refused.exit_code == 1 and "403" in refused.output
    refused = runner.invoke(
        cli, ["projects", "delete", alice_project, "--confirm", "Shop"], env=bob_env
    )
    assert refused.exit_code == 1 and "403" in refused.output
    several = runner.invoke(cli, ["members", "list"], env=bob_env)
    assert several.exit_code == 1 and "--team" in several.output

    removed = runner.invoke(cli, ["members", "remove", "bob@example.org"], env=alice_cli)
    assert removed.exit_code == 0, removed.output
    gone = runner.invoke(cli, ["projects", "settings", alice_project], env=bob_env)
    assert gone.exit_code == 1 and "404" in gone.output
    assert project_row(sessions, alice_project).port == 8000


def test_admin_add_user(
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from devpush.core.config import get_settings

    monkeypatch.setenv("DEVPUSH_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        args = ["admin", "add-user", "--email", "Dave@Example.org", "--password", "dave-password"]
        result = runner.invoke(cli, [*args, "--team", two_teams.alice.team_slug])
        assert result.exit_code == 0, result.output
        assert "team-a" in result.output
        again = runner.invoke(cli, args)
        assert again.exit_code == 1 and "exists" in again.output
        short = runner.invoke(
            cli, ["admin", "add-user", "--email", "e@example.org", "--password", "short"]
        )
        assert short.exit_code == 1 and "8 characters" in short.output
        # Scripts pass the password in the environment, out of the process list.
        from_env = runner.invoke(
            cli,
            ["admin", "add-user", "--email", "frank@example.org"],
            env={"DEVPUSH_USER_PASSWORD": "frank-password"},
        )
        assert from_env.exit_code == 0, from_env.output
    finally:
        get_settings.cache_clear()
    with sessions() as session:
        dave = authenticate(session, email="dave@example.org", password="dave-password")
        assert dave is not None and not dave.is_admin
        assert authenticate(session, email="frank@example.org", password="frank-password")
        role = session.scalar(
            select(TeamMember.role).where(
                TeamMember.user_id == dave.id, TeamMember.team_id == two_teams.alice.team_id
            )
        )
        assert role is TeamRole.MEMBER
        assert session.scalar(select(User).where(User.email == "e@example.org")) is None
