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


def failure(args: list[str], env: dict[str, str]) -> str:
    """What ``devpush <args>`` says when it fails: it exits with 1."""
    result = runner.invoke(cli, args, env=env)
    assert result.exit_code == 1, result.output
    return result.output


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
    assert "only a server administrator can list hosts" in failure(["hosts"], alice_cli)

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
    assert "DEVPUSH_SWARM=1" in failure(["hosts"], alice_cli)


@pytest.mark.swarm
@pytest.mark.docker
def test_an_admin_labels_drains_and_activates_a_host(
    swarm_mode: Swarm,
    alice_cli: dict[str, str],
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
) -> None:
    make_admin(sessions, two_teams.alice.user_id)
    node_2 = swarm_mode.engines[1].hostname

    result = runner.invoke(cli, ["hosts", "label", node_2, "zone=eu", "disk=ssd"], env=alice_cli)
    assert result.exit_code == 0, result.output
    assert f"{node_2}: active, labels disk=ssd, zone=eu" in result.output

    result = runner.invoke(cli, ["hosts", "unlabel", node_2, "disk"], env=alice_cli)
    assert f"{node_2}: active, labels zone=eu" in result.output

    result = runner.invoke(cli, ["hosts", "drain", node_2], env=alice_cli)
    assert result.exit_code == 0, result.output
    assert f"{node_2}: drain" in result.output
    listed = runner.invoke(cli, ["hosts"], env=alice_cli).output
    assert "drain" in next(line for line in listed.splitlines() if node_2 in line)

    result = runner.invoke(cli, ["hosts", "activate", node_2], env=alice_cli)
    assert f"{node_2}: active" in result.output

    # The server's reasons, as the CLI's errors.
    assert "has no label 'disk'" in failure(["hosts", "unlabel", node_2, "disk"], alice_cli)
    assert "no host 'nowhere'" in failure(["hosts", "drain", "nowhere"], alice_cli)


def test_a_label_without_a_value_is_refused_before_asking(alice_cli: dict[str, str]) -> None:
    said = failure(["hosts", "label", "any", "zone"], alice_cli)
    assert "a label is key=value, like zone=eu, got 'zone'" in said
