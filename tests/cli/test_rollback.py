"""``devpush rollback`` and ``devpush resume`` against the real app served by uvicorn.

No worker runs here: a thread plays its part (tests/cli/played_worker.py).
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.models import Deployment, DeployTrigger
from devpush.workers.queue import DeployQueue
from tests.api.ran_deployments import ran_twice
from tests.cli.played_worker import _play_worker, _served_statuses
from tests.fixtures.web import TwoTeams, deployment_of, pending

runner = CliRunner()


def paused(sessions: sessionmaker[Session], deployment_id: str) -> bool:
    with sessions() as session:
        deployment = session.get(Deployment, deployment_id)
        assert deployment is not None
        return deployment.environment.auto_deploy_paused


def test_rollback_follows_it_and_resume_lifts_the_pause(
    alice_cli: dict[str, str],
    two_teams: TwoTeams,
    queue: DeployQueue,
    sessions: sessionmaker[Session],
    web_app: FastAPI,
) -> None:
    alice = two_teams.alice
    _, second = ran_twice(sessions, queue, alice)

    # No deployment named: production's newest kept build before the serving one.
    served = _served_statuses(web_app)
    worker = _play_worker(sessions, queue, served, before=len(pending(queue)), fail=False)
    result = runner.invoke(
        cli, ["rollback", alice.project_slug, "--interval", "0.1"], env=alice_cli
    )
    worker.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert f"to deployment {alice.deployment_id} (commit aaaaaaaaaaaa): queued" in result.output
    assert "paused" in result.output
    assert "Running." in result.output
    _, (back_id,) = pending(queue)[-1]
    back = deployment_of(sessions, back_id)
    assert (back.trigger, back.rollback_of_id) == (DeployTrigger.ROLLBACK, alice.deployment_id)
    assert paused(sessions, back_id)

    # A named one, without waiting.
    result = runner.invoke(
        cli, ["rollback", alice.project_slug, second, "--no-wait"], env=alice_cli
    )
    assert result.exit_code == 0, result.output
    assert f"to deployment {second}" in result.output
    assert "Running." not in result.output

    result = runner.invoke(cli, ["resume", alice.project_slug], env=alice_cli)
    assert result.exit_code == 0, result.output
    assert "Auto-deploys of production resumed." in result.output
    assert not paused(sessions, back_id)


def test_rollback_refusals(
    alice_cli: dict[str, str],
    two_teams: TwoTeams,
) -> None:
    # The only deployment never ran: nothing to roll back to.
    result = runner.invoke(cli, ["rollback", two_teams.alice.project_slug], env=alice_cli)
    assert result.exit_code == 1
    assert "no earlier deployment with a kept build" in result.output
    alice = two_teams.alice
    result = runner.invoke(
        cli, ["rollback", alice.project_slug, alice.deployment_id], env=alice_cli
    )
    assert result.exit_code == 1
    assert "only a deployment that ran" in result.output
    result = runner.invoke(cli, ["rollback", two_teams.bob.project_id], env=alice_cli)
    assert result.exit_code == 1
    assert "404" in result.output
