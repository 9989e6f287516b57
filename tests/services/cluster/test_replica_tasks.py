"""A runner service of several tasks (pure parts): how the deploy and the other jobs read
it, which tasks the proxy table routes to, the replica count's checks."""

from __future__ import annotations

from typing import Any

import pytest

from devpush.core.config import Settings
from devpush.services import proxy_config
from devpush.services.cluster.runner_services import (
    REPLICAS_LABEL,
    live_addresses,
    replica_attrs,
    service_port,
    wanted_replicas,
)
from devpush.services.networks import project_network
from devpush.services.replicas import (
    ReplicasNeedSwarmError,
    ReplicasOutOfRangeError,
    check_replicas,
)

SETTINGS = Settings()
NETWORK = project_network(SETTINGS, "p")


def service(replicas: int | None = 2) -> dict[str, Any]:
    labels = {"devpush.project_id": "p"}
    if replicas is not None:
        labels[REPLICAS_LABEL] = str(replicas)
    return {
        "ID": "svc1",
        "Spec": {
            "Name": "devpush-runner-d",
            "Labels": labels,
            "TaskTemplate": {"ContainerSpec": {"Env": ["PORT=8000"], "Labels": {}}},
        },
    }


def task(
    state: str, address: str = "", *, node: str = "n1", at: str = "1", exit_code: int = 0
) -> dict[str, Any]:
    attachments = (
        [{"Network": {"Spec": {"Name": NETWORK}}, "Addresses": [f"{address}/24"]}]
        if address
        else []
    )
    return {
        "ServiceID": "svc1",
        "NodeID": node,
        "DesiredState": "running",
        "CreatedAt": f"2026-12-06T05:00:0{at}Z",
        "Status": {
            "State": state,
            "ContainerStatus": {"ContainerID": "c", "ExitCode": exit_code},
        },
        "NetworksAttachments": attachments,
    }


def status(tasks: list[dict[str, Any]], *, every: bool) -> str:
    return str(replica_attrs(service(), tasks, NETWORK, every=every)["State"]["Status"])


def test_the_deploy_waits_for_every_replica_and_fails_with_the_first_that_ends() -> None:
    one = task("running", "10.0.1.2", at="1")
    assert status([one, task("starting", at="2")], every=True) == "created"
    assert status([one, task("running", "10.0.1.3", at="2")], every=True) == "running"
    failed = task("failed", at="2", exit_code=3)
    attrs = replica_attrs(service(), [one, failed], NETWORK, every=True)
    assert (attrs["State"]["Status"], attrs["State"]["ExitCode"]) == ("exited", 3)


def test_once_running_a_service_runs_while_any_replica_does() -> None:
    alive = task("running", "10.0.1.2", at="1")
    dead = task("failed", at="2", exit_code=137)
    attrs = replica_attrs(service(), [alive, dead], NETWORK, every=False)
    assert attrs["State"]["Status"] == "running"
    assert attrs["NetworkSettings"]["Networks"][NETWORK]["IPAddress"] == "10.0.1.2"
    assert status([dead], every=False) == "exited"


def test_the_wanted_count_is_the_services_label() -> None:
    assert wanted_replicas(service(3)) == 3
    assert wanted_replicas(service(None)) == 1  # services made before replicas
    assert service_port(service()) == 8000


def test_the_table_routes_to_running_tasks_on_ready_nodes() -> None:
    nodes = [
        {"ID": "n1", "Status": {"State": "ready"}},
        {"ID": "n2", "Status": {"State": "down"}},
    ]
    gone = task("running", "10.0.1.9", node="n1")
    gone["DesiredState"] = "shutdown"
    tasks = [
        task("running", "10.0.1.10", node="n1"),
        task("running", "10.0.1.3", node="n1"),
        task("running", "10.0.1.4", node="n2"),  # its host is down: Swarm still says running
        task("starting", "10.0.1.5", node="n1"),
        gone,
    ]
    found = live_addresses([service()], tasks, nodes, SETTINGS)
    assert found == {
        "svc1": ["10.0.1.3", "10.0.1.10"],
        "devpush-runner-d": ["10.0.1.3", "10.0.1.10"],
    }
    # A lone task on a host that went down keeps its route until it is moved (as before).
    alone = live_addresses([service()], [tasks[2]], nodes, SETTINGS)
    assert alone["svc1"] == ["10.0.1.4"]
    assert live_addresses([service()], [tasks[3]], nodes, SETTINGS) == {}


def test_replicas_are_one_to_ten_and_above_one_need_swarm_mode() -> None:
    check_replicas(1, Settings())
    check_replicas(10, Settings(swarm=True))
    with pytest.raises(ReplicasNeedSwarmError, match="swarm mode"):
        check_replicas(2, Settings())
    for count in (0, 11):
        with pytest.raises(ReplicasOutOfRangeError, match="between 1 and 10"):
            check_replicas(count, Settings(swarm=True))


def test_caddy_skips_a_dead_replica_in_swarm_mode_only() -> None:
    def proxy(settings: Settings) -> dict[str, Any]:
        routes = proxy_config.build_config(settings)["apps"]["http"]["servers"]
        for server in routes.values():
            for route in server.get("routes", []):
                for handler in route.get("handle", []):
                    if handler.get("handler") == "reverse_proxy" and "dynamic_upstreams" in handler:
                        return dict(handler)
        raise AssertionError("no reverse proxy")

    single = proxy(Settings())
    assert "health_checks" not in single and "dial_timeout" not in single["transport"]
    swarm = proxy(Settings(swarm=True))
    assert swarm["health_checks"]["passive"]["max_fails"] == 1
    assert swarm["transport"]["dial_timeout"] == proxy_config.SWARM_DIAL_TIMEOUT
    # The retry after a failed dial goes to the next replica.
    assert swarm["load_balancing"]["selection_policy"] == {"policy": "round_robin"}
    assert "selection_policy" not in single["load_balancing"]
    assert proxy_config.PASSIVE_FAIL_SECONDS < proxy_config.RETRY_SECONDS
