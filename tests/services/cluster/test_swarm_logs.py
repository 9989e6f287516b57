"""Logs from every host: the collector runs on each node of the test swarm as a global
service (docker-stack.collector.yml), and one deployment's lines from runners on both
nodes come back in one view, the API and ``devpush logs``, each naming its host."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from devpush.cli.logs import format_line
from devpush_dev.engines import Swarm
from tests.fixtures.swarm_logs import AlicePrintsOn
from tests.fixtures.web import Member, TwoTeams, bearer, log_in

pytestmark = [pytest.mark.swarm, pytest.mark.docker]

#: Seconds for a line printed on a node to be in the store (the collector polls every
#: 200 ms and sends within 50 ms; the rest is the task's start).
SHIPPED_SECONDS = 60.0


@pytest.fixture
def log_store_url(swarm_store_url: str, swarm_collectors: str) -> Iterator[str]:
    """The app reads the store the nodes' collectors send to."""
    yield swarm_store_url


def api_items(client: TestClient, member: Member) -> list[dict[str, Any]]:
    answer = client.get(
        f"/api/v1/projects/{member.project_slug}/logs",
        params={"deployment": member.deployment_id, "since": "1h", "limit": "1000"},
        headers=bearer(member.token),
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def wait_for_lines(client: TestClient, member: Member, wanted: set[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + SHIPPED_SECONDS
    while True:
        items = api_items(client, member)
        if wanted <= {item["line"] for item in items}:
            return items
        if time.monotonic() >= deadline:
            raise AssertionError(f"lines not shipped within {SHIPPED_SECONDS:.0f}s: {items}")
        time.sleep(0.5)


def test_one_deployments_lines_from_both_hosts_name_their_host(
    swarm: Swarm, alice_prints_on: AlicePrintsOn, client: TestClient, two_teams: TwoTeams
) -> None:
    alice = two_teams.alice
    node_1, node_2 = swarm.engines
    alice_prints_on(node_1, ["first host line 1", "first host line 2"])
    alice_prints_on(node_2, ["second host line 1", "second host line 2"])

    items = wait_for_lines(
        client,
        alice,
        {"first host line 1", "first host line 2", "second host line 1", "second host line 2"},
    )

    hosts = {item["line"]: item["host"] for item in items}
    assert hosts == {
        "first host line 1": node_1.hostname,
        "first host line 2": node_1.hostname,
        "second host line 1": node_2.hostname,
        "second host line 2": node_2.hostname,
    }
    assert {item["deployment_id"] for item in items} == {alice.deployment_id}
    # `devpush logs` prints what the API answers: the host after the deployment.
    shown = {format_line(item) for item in items}
    assert any(f"{alice.deployment_id[:8]}@{node_2.hostname} out second host line 1" in s
               for s in shown)  # fmt: skip
    # The deployment's log panel in the web app names each line's host.
    log_in(client, alice.email)
    panel = client.get(
        f"/projects/{alice.project_slug}/logs/panel",
        params={"deployment": alice.deployment_id, "since": "1h"},
    )
    assert panel.status_code == 200, panel.text
    for engine in swarm.engines:
        assert f'<span class="log-host" title="host {engine.hostname}">' in panel.text
    # And a line's own page.
    one = next(item for item in items if item["host"] == node_2.hostname)
    page = client.get(f"/projects/{alice.project_slug}/logs/line", params={"id": one["id"]})
    assert page.status_code == 200, page.text
    assert f"<dt>Host</dt><dd><code>{node_2.hostname}</code></dd>" in page.text
    # Bob's project sees none of them.
    assert api_items(client, two_teams.bob) == []


def test_a_host_that_goes_away_keeps_its_shipped_lines(
    swarm: Swarm, alice_prints_on: AlicePrintsOn, client: TestClient, two_teams: TwoTeams
) -> None:
    alice = two_teams.alice
    node_2 = swarm.engines[1]
    alice_prints_on(node_2, ["said before the host went away"])
    wait_for_lines(client, alice, {"said before the host went away"})

    swarm.stop_engine(node_2)
    try:
        # The store answers for the host it no longer hears from.
        time.sleep(2)
        items = api_items(client, alice)
        assert [(i["line"], i["host"]) for i in items] == [
            ("said before the host went away", node_2.hostname)
        ]
        # And the deployment's view shows it, naming the host that is gone.
        log_in(client, alice.email)
        panel = client.get(
            f"/projects/{alice.project_slug}/logs/panel",
            params={"deployment": alice.deployment_id, "since": "1h"},
        )
        assert panel.status_code == 200, panel.text
        assert "said before the host went away" in panel.text
        assert f'<span class="log-host" title="host {node_2.hostname}">' in panel.text
    finally:
        swarm.start_engine(node_2)
        swarm.wait_ready(node_2)  # back ready for the session's other tests
