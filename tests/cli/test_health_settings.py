"""``devpush projects settings`` sets the health check and the runner's limits against the
real app on 127.0.0.1; 0 asks for a default; a limit above the server's maximum is refused."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from tests.fixtures.web import TwoTeams, project_row

runner = CliRunner()


def test_settings_set_the_check_and_the_limits(
    alice_cli: dict[str, str], two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    args = ["projects", "settings", "shop"]
    shown = runner.invoke(cli, args, env=alice_cli)
    assert shown.exit_code == 0, shown.output
    assert "health_check.interval_seconds" in shown.output
    changed = runner.invoke(
        cli,
        [
            *args,
            "--health-path", "/healthz",
            "--health-status", "200-299",
            "--health-grace", "20",
            "--health-interval", "15",
            "--health-threshold", "4",
            "--memory-mb", "128",
            "--cpus", "0.5",
        ],
        env=alice_cli,
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert "/healthz" in changed.output
    project = project_row(sessions, two_teams.alice.project_id)
    assert project.health_check == {
        "path": "/healthz",
        "expect_status": "200-299",
        "grace_seconds": 20,
        "interval_seconds": 15,
        "failure_threshold": 4,
    }
    assert (project.memory_mb, project.cpus) == (128, 0.5)

    # 0: the default again (no checks while running, the server's memory).
    reset = runner.invoke(cli, [*args, "--health-interval", "0", "--memory-mb", "0"], env=alice_cli)
    assert reset.exit_code == 0, reset.output
    project = project_row(sessions, two_teams.alice.project_id)
    assert (project.health_interval_seconds, project.memory_mb, project.cpus) == (None, None, 0.5)

    too_much = runner.invoke(cli, [*args, "--memory-mb", "999999"], env=alice_cli)
    assert too_much.exit_code == 1
    assert "more than this server allows (at most 4096 MB)" in too_much.output
    bad = runner.invoke(cli, [*args, "--health-status", "2xx"], env=alice_cli)
    assert bad.exit_code == 1
    assert "expect_status" in bad.output
