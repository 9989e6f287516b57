"""Scale-out on VictoriaLogs' cluster mode, on loopback: two hosts, two storage nodes.

- two ``victoria-logs`` storage nodes, and one more with ``-storageNode=…`` as the
  insert/select front the collectors write to and the app reads;
- two collectors standing for two runner hosts, each with its own state dir: host A
  reads the real engine's json-file logs (a real runner), host B a directory of
  json-file logs written here in Docker's exact format (tests/logs/recorded.py), since
  two collectors over one engine's files would read the same files;
- the app (its API, views and live tail) pointed at the front.

Stopping one storage node must give a clear partial-results warning, never silently
missing lines. This is the embedded stack's own cluster mode: it runs with the default
``--log-store`` only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
import pytest
from fastapi.testclient import TestClient

from devpush.core.labels import RUNNER_LOG_LABELS_OPTION, runner_labels
from devpush_dev import processes
from devpush_dev.otelcol import Collector, engine_containers_dir
from devpush_dev.ports import free_port
from devpush_dev.runners import BUSYBOX_IMAGE
from devpush_dev.victorialogs import (
    VictoriaLogs,
    start_victorialogs,
    victorialogs_argv,
    victorialogs_binary,
)
from tests.fixtures.web import TwoTeams, log_in
from tests.logs.recorded import attrs, start_collector_on, write_container_log

pytestmark = pytest.mark.docker

PARTIAL = "Some log storage nodes did not answer: lines may be missing."


@dataclass
class Cluster(processes.Stoppable):
    root: Path
    nodes: list[VictoriaLogs]
    front: processes.Child
    front_port: int
    collectors: list[Collector]
    recorded: Path  # host B's containers dir

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    def stop(self) -> None:
        for child in (
            *(c.child for c in self.collectors),
            self.front,
            *(n.child for n in self.nodes),
        ):
            if child.running():
                child.stop()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Cluster]:
    if request.config.getoption("--log-store") != "victorialogs":
        pytest.fail("the cluster tests run on the embedded stack (--log-store=victorialogs)")
    root = tmp_path_factory.mktemp("cluster")
    nodes = [start_victorialogs(data_dir=root / f"node{i}", http_port=free_port()) for i in (1, 2)]
    front_port = free_port()
    argv = victorialogs_argv(
        binary=victorialogs_binary(),
        data_dir=root / "front" / "data",
        http_port=front_port,
        retention="31d",
    )
    argv.append("-storageNode=" + ",".join(f"127.0.0.1:{n.port}" for n in nodes))
    front = processes.start(
        "victoria-logs-front", argv, log_path=root / "front" / "front.log", cwd=root
    )
    with Cluster(
        root=root,
        nodes=nodes,
        front=front,
        front_port=front_port,
        collectors=[],
        recorded=root / "hostb" / "containers",
    ) as cluster:
        processes.wait_ready(front, f"{cluster.url}/health", timeout=60)
        cluster.recorded.mkdir(parents=True)
        for name, containers in (("hosta", engine_containers_dir()), ("hostb", cluster.recorded)):
            cluster.collectors.append(
                start_collector_on(
                    containers, state_dir=root / name / "otelcol", victorialogs_url=cluster.url
                )
            )
        yield cluster


@pytest.fixture
def log_store_url(cluster: Cluster) -> str:
    """The app of tests/fixtures/web.py reads the cluster's front."""
    return cluster.url


def _api_lines(client: TestClient, alice: object, **params: str) -> dict:
    response = client.get(
        f"/api/v1/projects/{alice.project_slug}/logs",  # type: ignore[attr-defined]
        params={"deployment": alice.deployment_id, "limit": "5000", "since": "1h", **params},  # type: ignore[attr-defined]
        headers={"Authorization": f"Bearer {alice.token}"},  # type: ignore[attr-defined]
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_two_hosts_one_view_and_a_partial_warning_when_a_node_is_down(
    cluster: Cluster, client: TestClient, two_teams: TwoTeams, docker_client: docker.DockerClient
) -> None:
    alice = two_teams.alice
    labels = dict(
        project_id=alice.project_id,
        environment_id="env-c",
        branch="main",
        deployment_id=alice.deployment_id,
    )
    count = 200
    # Host A: a real runner of alice's deployment on the engine.
    container = docker_client.containers.run(
        BUSYBOX_IMAGE,
        ["sh", "-c", f"seq 0 {count - 1} | sed 's/^/host-a /'"],
        labels=runner_labels(**labels),
        log_config=docker.types.LogConfig(
            type="json-file", config={"labels": RUNNER_LOG_LABELS_OPTION}
        ),
        detach=True,
    )
    try:
        container.wait(timeout=60)
        # Host B: recorded json-file lines of the same deployment. The front places a
        # stream (its fields) on one node: 16 branches make 16 streams, spread over both.
        write_container_log(
            cluster.recorded,
            [(f"host-b {i}", attrs(**{**labels, "branch": f"b{i % 16}"})) for i in range(count)],
        )
        deadline = time.monotonic() + 60
        while True:
            page = _api_lines(client, alice)
            lines = [item["line"] for item in page["items"]]
            if len(lines) >= 2 * count or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        container.remove(force=True)
    assert sorted(lines) == sorted(
        [f"host-a {i}" for i in range(count)] + [f"host-b {i}" for i in range(count)]
    )
    assert page["partial"] is False

    # Where the rows went: the front spreads them over both nodes.
    per_node = []
    for node in cluster.nodes:
        answer = httpx.get(
            f"{node.url}/select/logsql/query",
            params={"query": f'deployment_id:="{alice.deployment_id}" | stats count() n'},
            timeout=10,
        )
        per_node.append(int(json.loads(answer.text.splitlines()[0])["n"]))
    print(f"\nrows per storage node: {per_node}")
    assert sum(per_node) == 2 * count and all(per_node), per_node

    # One storage node down: 200 with what the other holds, and said so everywhere.
    cluster.nodes[1].child.stop()
    try:
        page = _api_lines(client, alice)
        assert page["partial"] is True
        assert len(page["items"]) == per_node[0]
        log_in(client, alice.email)
        panel = client.get(
            f"/projects/{alice.project_slug}/logs/panel", params={"deployment": alice.deployment_id}
        )
        assert panel.status_code == 200 and PARTIAL in panel.text, panel.text[:1000]
        logs_page = client.get(
            f"/projects/{alice.project_slug}/logs",
            params={"deployment": alice.deployment_id, "range": "1h"},
        )
        assert PARTIAL in logs_page.text
        tail = client.get(
            f"/api/v1/projects/{alice.project_slug}/logs/tail",
            params={
                "deployment": alice.deployment_id,
                "cursor": f"{time.time_ns() - 600 * 10**9}:",
            },
            headers={"Authorization": f"Bearer {alice.token}"},
        )
        events = [json.loads(line) for line in tail.text.splitlines()]
        # The tail does not move past what the missing node holds: it stops, and says why.
        assert (
            events
            and "error" in events[-1]
            and "storage nodes did not answer" in events[-1]["error"]
        )
    finally:
        node = cluster.nodes[1]
        cluster.nodes[1] = start_victorialogs(data_dir=node.data_dir, http_port=node.port)
    page = _api_lines(client, alice)
    assert page["partial"] is False and len(page["items"]) == 2 * count
