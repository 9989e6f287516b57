"""``devpush hosts`` against the real app served by uvicorn, on a two-node swarm."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.core.config import Settings
from devpush_dev.engines import Swarm
from tests.fixtures.web import TwoTeams, make_admin

runner = CliRunner()


@pytest.mark.swarm
@pytest.mark.docker
def test_an_admin_sees_both_hosts(
    settings: Settings,
    swarm: Swarm,
    alice_cli: dict[str, str],
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
) -> None:
    # Not an admin yet: the API's refusal, as the CLI's error.
    result = runner.invoke(cli, ["hosts"], env=alice_cli)
    assert result.exit_code == 1
    assert "only a server administrator can list hosts" in result.output

    settings.swarm, settings.docker_host = True, swarm.manager.host
    make_admin(sessions, two_teams.alice.user_id)
    result = runner.invoke(cli, ["hosts"], env=alice_cli)

    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "devpush-node-" in line]
    assert len(rows) == 2
    for engine, row in zip(swarm.engines, rows, strict=True):
        cells = [cell.strip() for cell in row.split("│") if cell.strip()]
        assert cells[:5] == [
            engine.hostname, engine.node_id[:12], str(engine.address),
            "manager" if engine.index == 1 else "worker", "ready",
        ]  # fmt: skip
        assert "active" in cells


def test_swarm_mode_off_says_how_to_turn_it_on(
    alice_cli: dict[str, str], two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    make_admin(sessions, two_teams.alice.user_id)
    result = runner.invoke(cli, ["hosts"], env=alice_cli)
    assert result.exit_code == 1
    assert "DEVPUSH_SWARM=1" in result.output
