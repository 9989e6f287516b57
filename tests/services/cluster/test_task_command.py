"""A runner task's command: no new privileges for the step script and the app, its
source fetched once, the token gone before the app starts.

The command runs here in a plain container of the runner image on the real engine (on
the host's network, to reach a source server on loopback): what a swarm task runs,
without the swarm (tests/e2e/test_swarm_hardening.py runs it as a task).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.types import ContainerSpec, TaskTemplate

from devpush.services import runner
from devpush.services.cluster.runner_services import (
    SOURCE_TOKEN_ENV,
    SOURCE_URL_ENV,
    fetch_and_run_command,
    with_no_new_privileges,
)
from devpush.services.cluster.source_server import SourceServer
from devpush.services.git import Commit

pytestmark = pytest.mark.docker

#: What the test app prints: its no_new_privs flag and whether it sees the token.
START = "grep NoNewPrivs /proc/self/status; echo token:${DEVPUSH_SOURCE_TOKEN:-gone}"


@pytest.fixture
def source_server() -> Iterator[SourceServer]:
    server = SourceServer("127.0.0.1").start()
    try:
        yield server
    finally:
        server.stop()


def run_task_command(
    client: docker.DockerClient, image: str, server: SourceServer, token: str
) -> tuple[int, str]:
    """Run the task's command in a container; its exit code and output."""
    container = client.containers.run(
        image,
        command=fetch_and_run_command(),
        environment={SOURCE_URL_ENV: server.url, SOURCE_TOKEN_ENV: token},
        working_dir="/app",
        network_mode="host",
        detach=True,
    )
    try:
        code = int(container.wait(timeout=60)["StatusCode"])
        return code, container.logs().decode()
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)


def test_the_app_runs_without_new_privileges_and_without_the_token(
    docker_client: docker.DockerClient,
    runner_python_image: str,
    source_server: SourceServer,
    tmp_path: Path,
) -> None:
    (tmp_path / "src").mkdir()
    script = runner.run_script(
        steps=runner.Steps(build="", pre_deploy="", start=START),
        branch="main",
        commit=Commit("0" * 40, "hardening"),
    )
    archive = runner.source_archive(source_dir=tmp_path / "src", script=script)
    token = source_server.offers.offer(archive, ttl_seconds=60)
    began = time.monotonic()
    code, output = run_task_command(docker_client, runner_python_image, source_server, token)
    assert code == 0, output
    assert "NoNewPrivs:\t1" in output, output
    assert "token:gone" in output, output
    assert token not in output
    assert time.monotonic() - began < 60
    # The token answered once: a second task with it gets nothing and fails.
    again, output = run_task_command(docker_client, runner_python_image, source_server, token)
    assert again != 0
    assert "HTTP Error 404" in output, output


def _task() -> TaskTemplate:
    return TaskTemplate(container_spec=ContainerSpec(image="i", command=["true"]))


def test_the_spec_says_no_new_privileges_only_where_the_engine_has_the_field() -> None:
    assert "Privileges" not in with_no_new_privileges(_task(), "1.41")["ContainerSpec"]
    assert "Privileges" not in with_no_new_privileges(_task(), "1.45")["ContainerSpec"]
    for version in ("1.46", "1.47"):
        spec = with_no_new_privileges(_task(), version)["ContainerSpec"]
        assert spec["Privileges"] == {"NoNewPrivileges": True}
