"""``devpush projects settings --host-label`` sets the project's placement label (swarm
mode) against the real app on 127.0.0.1; "" clears it; a label without a value is refused."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from tests.fixtures.web import TwoTeams, project_row

runner = CliRunner()


def test_the_host_label_is_set_shown_and_cleared(
    alice_cli: dict[str, str], two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    args = ["projects", "settings", "shop"]
    changed = runner.invoke(cli, [*args, "--host-label", "zone=eu"], env=alice_cli)
    assert changed.exit_code == 0, changed.output
    assert "zone=eu" in changed.output
    assert project_row(sessions, two_teams.alice.project_id).placement_label == "zone=eu"
    cleared = runner.invoke(cli, [*args, "--host-label", ""], env=alice_cli)
    assert cleared.exit_code == 0, cleared.output
    assert project_row(sessions, two_teams.alice.project_id).placement_label == ""
    bad = runner.invoke(cli, [*args, "--host-label", "eu"], env=alice_cli)
    assert bad.exit_code == 1
    assert "key=value" in bad.output
