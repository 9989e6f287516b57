"""``devpush metrics`` against the real app served by uvicorn."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.models import DeploymentStatus
from tests.api.samples import sampled
from tests.fixtures.web import TwoTeams, move

runner = CliRunner()


def test_the_running_deployments_latest_figures_and_table(
    alice_cli: dict[str, str], two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice
    slug = alice.project_slug
    # No running deployment yet: the command says how to name one.
    result = runner.invoke(cli, ["metrics", slug], env=alice_cli)
    assert result.exit_code == 1
    assert "has no running deployment: name one with --deployment" in result.output

    move(sessions, alice.deployment_id, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)
    result = runner.invoke(cli, ["metrics", slug], env=alice_cli)
    assert result.exit_code == 0, result.output
    assert "0 samples" in result.output and "No samples yet" in result.output

    ages = [timedelta(minutes=m) for m in range(14, 0, -1)]  # 14 samples, one a minute
    sampled(sessions, alice.deployment_id, *ages)
    result = runner.invoke(cli, ["metrics", slug, "--range", "15m"], env=alice_cli)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Deployment {alice.deployment_id} (running), last 15m: 14 samples"
    # The newest sample: CPU 1.4 cores, 14 000 bytes, 1 400 received, 140 sent.
    assert lines[1] == "CPU 1.40 cores · memory 13.7 KiB · received 1.4 KiB · sent 140 B"
    rows = [line for line in lines if "KiB" in line and "│" in line]
    assert len(rows) == 10  # the newest ten
    assert "1.40" in rows[-1] and "0.50" in rows[0]


def test_a_named_deployment_of_another_team_is_not_found(
    alice_cli: dict[str, str], two_teams: TwoTeams
) -> None:
    bob = two_teams.bob
    result = runner.invoke(
        cli, ["metrics", "shop", "--deployment", bob.deployment_id], env=alice_cli
    )
    assert result.exit_code == 1
    assert "404" in result.output


def test_a_bad_range_says_the_choices(alice_cli: dict[str, str], two_teams: TwoTeams) -> None:
    alice = two_teams.alice
    args = ["metrics", "shop", "--deployment", alice.deployment_id, "--range", "2d"]
    result = runner.invoke(cli, args, env=alice_cli)
    assert result.exit_code == 1
    assert "range must be one of 15m, 1h, 6h, 24h" in result.output
