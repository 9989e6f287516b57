"""``devpush projects replicas PROJECT ENVIRONMENT [N]`` against the real app on 127.0.0.1:
shows an environment's replica count, sets it in swarm mode, refuses more than one on a
single server."""

from __future__ import annotations

from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.core.config import Settings
from tests.fixtures.web import TwoTeams

runner = CliRunner()


def test_replicas_are_shown_refused_on_one_server_and_set_in_swarm_mode(
    alice_cli: dict[str, str], two_teams: TwoTeams, settings: Settings
) -> None:
    args = ["projects", "replicas", "shop", "production"]
    shown = runner.invoke(cli, args, env=alice_cli)
    assert shown.exit_code == 0, shown.output
    assert "production: 1 replica(s)" in shown.output
    refused = runner.invoke(cli, [*args, "2"], env=alice_cli)
    assert refused.exit_code == 1
    assert "replicas need swarm mode" in refused.output
    settings.swarm = True
    changed = runner.invoke(cli, [*args, "2"], env=alice_cli)
    assert changed.exit_code == 0, changed.output
    assert "production: 2 replica(s)" in changed.output
    assert "next deployment" in changed.output
    assert "2 replica(s)" in runner.invoke(cli, args, env=alice_cli).output
