"""``devpush logs`` in swarm mode: one deployment's lines from runners on both nodes of the
test swarm, shipped by each node's collector (docker-stack.collector.yml), each printed
with the host that ran it; against the real app on uvicorn."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush_dev.engines import Swarm
from tests.fixtures.swarm_logs import AlicePrintsOn
from tests.fixtures.web import TwoTeams

pytestmark = [pytest.mark.swarm, pytest.mark.docker]
runner = CliRunner()


@pytest.fixture
def log_store_url(swarm_store_url: str, swarm_collectors: str) -> Iterator[str]:
    """The app reads the store the nodes' collectors send to."""
    yield swarm_store_url


def test_devpush_logs_says_which_host_each_line_came_from(
    swarm: Swarm, alice_prints_on: AlicePrintsOn, alice_cli: dict[str, str], two_teams: TwoTeams
) -> None:
    alice = two_teams.alice
    node_1, node_2 = swarm.engines
    alice_prints_on(node_1, ["cli line on the first host"])
    alice_prints_on(node_2, ["cli line on the second host"])
    args = ["logs", alice.project_slug, "--deployment", alice.deployment_id, "--since", "1h"]

    deadline = time.monotonic() + 60
    while True:
        result = runner.invoke(cli, args, env=alice_cli)
        assert result.exit_code == 0, result.output
        if "second host" in result.output and "first host" in result.output:
            break
        assert time.monotonic() < deadline, f"lines not shipped: {result.output}"
        time.sleep(0.5)

    short = alice.deployment_id[:8]
    assert f"{short}@{node_1.hostname} out cli line on the first host" in result.output
    assert f"{short}@{node_2.hostname} out cli line on the second host" in result.output
    as_json = runner.invoke(cli, [*args, "--json"], env=alice_cli)
    hosts = {item["line"]: item["host"] for item in map(json.loads, as_json.output.splitlines())}
    assert hosts == {
        "cli line on the first host": node_1.hostname,
        "cli line on the second host": node_2.hostname,
    }
