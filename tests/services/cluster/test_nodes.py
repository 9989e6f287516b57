"""The swarm's hosts, read from a real two-node swarm (tests/fixtures/swarm.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from devpush.core.config import Settings
from devpush.core.labels import ROLE_LABEL, RUNNER_ROLE
from devpush.services.cluster.nodes import (
    SwarmOff,
    SwarmUnavailable,
    list_hosts,
    runner_services_on,
    runners_per_node,
)
from devpush_dev.engines import Swarm

pytestmark = [pytest.mark.swarm, pytest.mark.docker]


@pytest.fixture
def runner_on_node_2(swarm: Swarm) -> Iterator[str]:
    """A service labelled as a runner, pinned to node 2, running; removed after."""
    name = f"devpush-test-runner-{swarm.token}"
    swarm.manager.docker(
        "service", "create", "--detach", "--no-resolve-image", "--name", name,
        "--container-label", f"{ROLE_LABEL}={RUNNER_ROLE}",
        "--constraint", f"node.id=={swarm.engines[1].node_id}",
        "devpush/busybox:local", "sleep", "600",
    )  # fmt: skip
    try:
        yield name
    finally:
        swarm.manager.docker("service", "rm", name, check=False)


def wait_for_runners(settings: Settings, node_id: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if {h.id: h.runners for h in list_hosts(settings)}[node_id] == count:
            return
        time.sleep(0.3)
    raise AssertionError(f"node {node_id} never ran {count} runner(s)")


def test_the_hosts_of_a_two_node_swarm(swarm: Swarm, runner_on_node_2: str) -> None:
    node_1, node_2 = swarm.engines
    swarm.manager.docker("node", "update", "--label-add", "zone=b", node_2.node_id)
    settings = Settings(swarm=True, docker_host=swarm.manager.host)
    wait_for_runners(settings, node_2.node_id, 1)

    hosts = list_hosts(settings)

    assert [(h.id, h.hostname, h.address, h.role) for h in hosts] == [
        (node_1.node_id, "devpush-node-1", str(node_1.address), "manager"),
        (node_2.node_id, "devpush-node-2", str(node_2.address), "worker"),
    ]
    assert {(h.state, h.availability) for h in hosts} == {("ready", "active")}
    assert [h.labels for h in hosts] == [{}, {"zone": "b"}]
    assert [h.runners for h in hosts] == [0, 1]
    # Both engines run on this one machine: each reports all of its CPUs and memory.
    assert all(h.cpus >= 1 and h.memory_bytes > 100 * 2**20 for h in hosts)


def test_a_worker_node_cannot_list_the_swarm(swarm: Swarm) -> None:
    settings = Settings(swarm=True, docker_host=swarm.engines[1].host)
    with pytest.raises(SwarmUnavailable, match="not a swarm manager"):
        list_hosts(settings)


def test_swarm_mode_off_lists_nothing() -> None:
    with pytest.raises(SwarmOff, match="DEVPUSH_SWARM=1"):
        list_hosts(Settings(swarm=False))


def test_only_running_runner_tasks_count() -> None:
    def task(node: str, state: str, role: str | None) -> dict[str, object]:
        labels = {ROLE_LABEL: role} if role else {}
        return {
            "NodeID": node,
            "Status": {"State": state},
            "Spec": {"ContainerSpec": {"Labels": labels}},
        }

    tasks = [
        task("a", "running", RUNNER_ROLE),
        task("a", "running", RUNNER_ROLE),
        task("a", "starting", RUNNER_ROLE),
        task("b", "running", None),
        task("b", "running", "collector"),
        task("", "pending", RUNNER_ROLE),
    ]
    assert runners_per_node(tasks) == {"a": 2}


def test_the_runner_services_on_a_node_are_those_with_a_running_task_there() -> None:
    def task(service: str, node: str, state: str, role: str | None = RUNNER_ROLE) -> dict:
        labels = {ROLE_LABEL: role} if role else {}
        return {
            "ServiceID": service,
            "NodeID": node,
            # A down node's task: its desired state is shutdown, its state still running.
            "DesiredState": "shutdown",
            "Status": {"State": state},
            "Spec": {"ContainerSpec": {"Labels": labels}},
        }

    tasks = [
        task("s1", "a", "running"),
        task("s1", "b", "running"),  # a second replica elsewhere
        task("s2", "a", "complete"),
        task("s3", "a", "running", role="collector"),
        task("s4", "b", "running"),
    ]
    assert runner_services_on(tasks, "a") == {"s1"}
    assert runner_services_on(tasks, "b") == {"s1", "s4"}
