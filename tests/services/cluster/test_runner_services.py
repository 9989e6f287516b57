"""Runners as Swarm services on the two-node swarm: one pinned to each host by a host
label, each fetching its source from the worker's source server, both answering through
a Caddy on node 1 attached to the project's overlay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from devpush.core.config import Settings
from devpush.services import runner
from devpush.services.cluster.runner_services import (
    ServiceError,
    create_runner_service,
    ensure_project_overlay,
    host_label_constraints,
    remove_runner_service,
    runner_service_spec,
    stop_runner_service,
    wait_for_task,
)
from devpush.services.cluster.source_server import SourceServer
from devpush.services.git import Commit
from devpush_dev.engines import Swarm

pytestmark = [pytest.mark.swarm, pytest.mark.docker]

PROJECT = "p" * 32
#: Caddy's port inside node 1's namespace (published there, reached from the host).
PROXY_PORT = 18080
APP_PORT = 8000


@pytest.fixture
def manager(swarm: Swarm) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=swarm.manager.host, timeout=60)
    yield client
    client.close()


@pytest.fixture
def source_server(swarm: Swarm) -> Iterator[SourceServer]:
    server = SourceServer(swarm.gateway).start()
    try:
        yield server
    finally:
        server.stop()


def archive(tmp_path: Path, text: str) -> bytes:
    source = tmp_path / text.replace(" ", "-")
    source.mkdir()
    (source / "index.html").write_text(text)
    script = runner.run_script(
        steps=runner.Steps(build="", pre_deploy="", start="python3 -m http.server $PORT"),
        branch="main",
        commit=Commit("0" * 40, "test"),
    )
    return runner.source_archive(source_dir=source, script=script)


def spec(deployment_id: str, project_id: str = PROJECT) -> runner.RunnerSpec:
    return runner.RunnerSpec(
        deployment_id=deployment_id,
        project_id=project_id,
        environment_id="e" * 32,
        branch="main",
        commit_sha="0" * 40,
        image="devpush/runner-python:local",
        port=APP_PORT,
        memory="256m",
        cpus=0.5,
    )


def proxy_answer(swarm: Swarm, host: str, *, timeout: float = 60) -> str:
    url = f"http://{swarm.manager.address}:{PROXY_PORT}/"
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(url, headers={"Host": host}, timeout=3)
            if answer.status_code == 200:
                return answer.text
            last = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise AssertionError(f"the proxy never answered 200 for {host}: {last}")


def test_a_deploy_pinned_to_each_host_answers_through_the_proxy(
    swarm: Swarm, manager: docker.DockerClient, source_server: SourceServer, tmp_path: Path
) -> None:
    node_1, node_2 = swarm.engines
    for engine, zone in ((node_1, "one"), (node_2, "two")):
        swarm.manager.docker("node", "update", "--label-add", f"zone={zone}", engine.node_id)
    settings = Settings(swarm=True, docker_host=swarm.manager.host)
    network = ensure_project_overlay(manager, settings, PROJECT)
    services: list[str] = []
    caddyfile = tmp_path / "Caddyfile"
    proxy = f"devpush-test-proxy-{swarm.token}"
    try:
        places = {}
        for name, zone in (("a" * 32, "one"), ("b" * 32, "two")):
            token = source_server.offers.offer(
                archive(tmp_path, f"hello from {zone}"), ttl_seconds=120
            )
            kwargs = runner_service_spec(
                spec=spec(name),
                environment=runner.runner_environment(
                    spec=spec(name), project_vars={}, environment_vars={}
                ),
                settings=settings,
                source_url=source_server.url,
                source_token=token,
                host_label=f"zone={zone}",
            )
            services.append(create_runner_service(manager, kwargs))
            places[zone] = wait_for_task(manager, services[-1], network=network, timeout=120)
        assert places["one"].node_id == node_1.node_id
        assert places["two"].node_id == node_2.node_id
        caddyfile.write_text(
            "{\n  admin off\n  auto_https off\n}\n"
            f":{PROXY_PORT} {{\n"
            f"  @one host one.test\n  reverse_proxy @one {places['one'].address}:{APP_PORT}\n"
            f"  @two host two.test\n  reverse_proxy @two {places['two'].address}:{APP_PORT}\n"
            "}\n"
        )
        swarm.manager.docker(
            "run", "-d", "--name", proxy, "--network", network,
            "-p", f"{PROXY_PORT}:{PROXY_PORT}",
            "-v", f"{caddyfile}:/etc/caddy/Caddyfile:ro", "devpush/caddy:local",
        )  # fmt: skip
        assert proxy_answer(swarm, "one.test") == "hello from one"
        assert proxy_answer(swarm, "two.test") == "hello from two"
        # Each task took its source once: no token is left to take.
        assert source_server.offers.waiting() == 0

        # A stop keeps the task's container, and its log, on its host.
        stop_runner_service(manager, services[1])
        deadline = time.monotonic() + 60
        while "running" in node_2.docker("ps", "-a", "--format", "{{.State}}", "--filter",
                                          f"label=devpush.deployment_id={'b' * 32}"):  # fmt: skip
            assert time.monotonic() < deadline, "the stopped task still runs"
            time.sleep(0.3)
        kept = node_2.docker("ps", "-aq", "--filter", f"label=devpush.deployment_id={'b' * 32}")
        assert kept, "the stopped task's container is gone"
        lines = node_2.docker("logs", kept.split()[0])
        assert "==> Start: python3 -m http.server $PORT" in lines
        assert "Serving HTTP" in lines
    finally:
        swarm.manager.docker("rm", "-f", proxy, check=False)
        for service_id in services:
            remove_runner_service(manager, service_id)
        swarm.manager.docker("network", "rm", network, check=False)


def test_a_host_label_no_node_has_leaves_the_task_pending(
    swarm: Swarm, manager: docker.DockerClient, source_server: SourceServer, tmp_path: Path
) -> None:
    settings = Settings(swarm=True, docker_host=swarm.manager.host)
    # A project of its own: a removed overlay lingers a moment on the manager.
    network = ensure_project_overlay(manager, settings, "q" * 32)
    kwargs = runner_service_spec(
        spec=spec("c" * 32, "q" * 32),
        environment={},
        settings=settings,
        source_url=source_server.url,
        source_token=source_server.offers.offer(b"", ttl_seconds=5),
        host_label="zone=nowhere",
    )
    service_id = create_runner_service(manager, kwargs)
    try:
        with pytest.raises(ServiceError, match=r"did not start within 3 s.*pending"):
            wait_for_task(manager, service_id, network=network, timeout=3)
    finally:
        remove_runner_service(manager, service_id)
        swarm.manager.docker("network", "rm", network, check=False)


def test_host_labels_become_constraints() -> None:
    assert host_label_constraints(None) == []
    assert host_label_constraints(" zone = eu ") == ["node.labels.zone==eu"]
    with pytest.raises(ValueError, match="key=value"):
        host_label_constraints("eu")
