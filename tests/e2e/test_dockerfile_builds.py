"""Dockerfile builds and the build cache, with a real worker process and real Docker.

A Dockerfile project (FROM the local runner image: nothing is pulled) is built by the
engine's classic builder through the worker's socket-proxy door, runs its image's CMD,
is served through Caddy, and rolls back to its kept build. A failing Dockerfile ends
failed with its failure record (step Build, the builder's last lines). A build-command
project's second deploy takes its dependency from the project's cache volume.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable

import docker
import pytest

from devpush.core.config import Settings
from devpush.core.crypto import encrypt_mapping, fernet_for
from devpush.logs.query import LogQuery
from devpush.models import DeploymentStatus, DeployStep, Project
from devpush.services import build_cache, hosts, networks
from devpush.services.log_store import log_store, open_http_client
from devpush.services.project_settings import delete_project
from devpush.services.rollback import rollback
from devpush.workers.queue import DeployQueue, huey_from_url
from devpush_dev import package_index, processes
from devpush_dev.caddy import Caddy
from devpush_dev.log_stacks import LogStack
from tests.e2e.proxy_polling import host_of, through_proxy
from tests.e2e.support import Stack, deploy_hi_again, logs_of, wait_kept
from tests.fixtures.logstack import drain
from tests.utils.git import git

pytestmark = pytest.mark.docker

DOCKERFILE = """\
FROM devpush/runner-python:local
ARG GREETING_WORD=unset
WORKDIR /srv/site
COPY . .
RUN echo "building with $GREETING_WORD" && python3 build.py
CMD ["python3", "app.py"]
"""


def _served(caddy: Caddy, stack: Stack, deployment_id: str) -> str:
    with stack.sessions() as session:
        url = hosts.environment_url(stack.load(session, deployment_id).environment, stack.settings)
    return through_proxy(caddy, host_of(url or "")).text


def _wait_served(caddy: Caddy, stack: Stack, deployment_id: str, text: str) -> None:
    deadline = time.monotonic() + 15
    while (served := _served(caddy, stack, deployment_id)) != text:
        assert time.monotonic() < deadline, served
        time.sleep(0.2)


def test_a_dockerfile_project_builds_runs_is_served_and_rolls_back(
    stack: Stack,
    worker: Callable[..., processes.Child],
    caddy: Caddy,
    docker_engine: docker.DockerClient,
) -> None:
    (stack.repo / "Dockerfile").write_text(DOCKERFILE)
    git(stack.repo, "add", "Dockerfile")
    git(stack.repo, "commit", "-q", "-m", "Build from a Dockerfile")
    # No start command: the image's CMD starts the app.
    stack.update_project(
        build_from_dockerfile=True, build_args={"GREETING_WORD": "Howdy"}, start_command=""
    )
    child = worker(stack.settings)
    queue = DeployQueue(huey_from_url(stack.settings.queue_url))

    v1_id = stack.deploy(queue)
    v1 = stack.wait_for(v1_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED}, timeout=180)
    assert v1.status is DeploymentStatus.RUNNING, (v1.error, child.log_tail())
    # The builder's lines stream into the deployment's Build step through its build log
    # container (labelled as the deployment's runner: the collector ships its lines).
    build_container = docker_engine.containers.get(f"devpush-build-log-{v1_id}")
    assert build_container.labels["devpush.deployment_id"] == v1_id
    assert build_container.labels["devpush.role"] == "runner"
    assert build_container.wait(timeout=10)["StatusCode"] == 0
    build_log = logs_of(build_container)
    assert build_log.startswith("==> Deploying branch main at "), build_log
    assert "==> Build: docker build -f Dockerfile (the engine's builder)\n" in build_log
    assert "building with Howdy" in build_log, build_log
    # The classic builder's own lines (devpush's labels are its last steps).
    assert re.search(r"^Step 1/\d+ : FROM devpush/runner-python:local$", build_log, re.M)
    assert "Successfully tagged" in build_log
    # The runner says its Build step only, then starts the image's CMD.
    runner_log = logs_of(stack.container(v1))
    assert "==> Build: docker build -f Dockerfile (the engine's builder): built" in runner_log
    assert "Successfully tagged" not in runner_log and "building with" not in runner_log
    assert "==> Start: python3 app.py" in runner_log
    # The deployment's log (both containers' lines) says its headline once.
    assert (build_log + runner_log).count("==> Deploying branch main at ") == 1, runner_log
    # The runner is a container of the built image, working in its WORKDIR.
    container = stack.container(v1)
    assert container.attrs["Config"]["Image"] == f"devpush-build/{stack.project_id}:{v1_id}"
    assert container.attrs["Config"]["WorkingDir"] == "/srv/site"
    assert container.attrs["HostConfig"]["Memory"] == 256 * 1024 * 1024
    assert "/cache" not in {m["Destination"] for m in container.attrs["Mounts"]}
    # The image is the deployment's kept build: labelled for collection and deletion.
    assert wait_kept(stack, v1_id) == f"devpush-build/{stack.project_id}:{v1_id}"
    labels = docker_engine.images.get(f"devpush-build/{stack.project_id}:{v1_id}").labels
    assert labels["devpush.role"] == "build"
    assert labels["devpush.deployment_id"] == v1_id
    assert labels["devpush.dockerfile"] == "1"
    # Served through the proxy (the build ran outside the runner: no branch in its env).
    assert _served(caddy, stack, v1_id) == "Hello from devpush! (branch=unknown commit=unknown)\n"

    # v2 answers differently; then the environment rolls back to v1's image.
    v2_id = deploy_hi_again(stack, queue, child, timeout=180).id
    _wait_served(caddy, stack, v2_id, "Hi again from devpush! (branch=unknown commit=unknown)\n")

    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        back_id = rollback(
            session, project=project, target=stack.load(session, v1_id), created_by=None,
            queue=queue,
        ).id  # fmt: skip
    back = stack.wait_for(back_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
    assert back.status is DeploymentStatus.RUNNING, (back.error, child.log_tail())
    _wait_served(caddy, stack, back_id, "Hello from devpush! (branch=unknown commit=unknown)\n")
    back_log = logs_of(stack.container(back))
    assert back_log.startswith(f"==> Rollback: starting the build of deployment {v1_id[:8]}")
    assert "==> Build" not in back_log and "==> Start: python3 app.py" in back_log
    assert stack.container(back).attrs["Config"]["WorkingDir"] == "/srv/site"


def test_a_failing_dockerfile_shows_its_failure_record(
    stack: Stack,
    worker: Callable[..., processes.Child],
    docker_engine: docker.DockerClient,
) -> None:
    (stack.repo / "Dockerfile").write_text(
        "FROM devpush/runner-python:local\n"
        "RUN echo 'compiling the site' && echo 'no such module: boom' && exit 3\n"
    )
    git(stack.repo, "add", "Dockerfile")
    git(stack.repo, "commit", "-q", "-m", "A broken Dockerfile")
    stack.update_project(build_from_dockerfile=True)
    child = worker(stack.settings)
    queue = DeployQueue(huey_from_url(stack.settings.queue_url))

    failed_id = stack.deploy(queue)
    failed = stack.wait_for(
        failed_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED}, timeout=180
    )
    assert failed.status is DeploymentStatus.FAILED, child.log_tail()
    assert failed.error == "Build exited with code 3", failed.error
    assert failed.failure_step is DeployStep.BUILD
    lines = failed.failure_lines or []
    assert "no such module: boom" in lines, lines
    assert any("returned a non-zero code: 3" in line for line in lines), lines
    assert not any(line.startswith("==> ") for line in lines), lines
    # The build log container ended with the build's code; it is the failed deployment's.
    assert failed.container_name == f"devpush-build-log-{failed_id}"
    assert docker_engine.containers.get(f"devpush-build-log-{failed_id}").wait(timeout=10) == {
        "StatusCode": 3,
        "Error": None,
    }
    # No image kept for a build that never ran.
    assert docker_engine.images.list(name=f"devpush-build/{stack.project_id}") == []

    # A Dockerfile path that does not exist fails the same way, with Docker's reason.
    stack.update_project(dockerfile_path="deploy/Dockerfile.missing")
    missing_id = stack.deploy(queue)
    missing = stack.wait_for(
        missing_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED}, timeout=180
    )
    assert missing.status is DeploymentStatus.FAILED, child.log_tail()
    assert missing.failure_step is DeployStep.BUILD
    assert any("Dockerfile.missing" in line for line in missing.failure_lines or [])


def test_a_second_build_command_deploy_reuses_the_cache(
    stack: Stack,
    worker: Callable[..., processes.Child],
    docker_engine: docker.DockerClient,
) -> None:
    repo = package_index.cached_deps_repo(stack.repo.parent / "cached-deps")
    network = networks.ensure_project_network(docker_engine, stack.settings, stack.project_id)
    wheel = package_index.make_wheel()
    with package_index.package_index(docker_engine, network=network, wheel=wheel) as index_url:
        fernet = fernet_for(stack.settings.secret_key.get_secret_value())
        stack.update_project(
            repo_url=str(repo),
            build_command=package_index.BUILD_COMMAND,
            start_command=package_index.START_COMMAND,
            env_vars_encrypted=encrypt_mapping(fernet, package_index.index_variables(index_url)),
        )
        child = worker(stack.settings)
        queue = DeployQueue(huey_from_url(stack.settings.queue_url))

        first_id = stack.deploy(queue)
        first = stack.wait_for(first_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
        assert first.status is DeploymentStatus.RUNNING, (first.error, first.failure_lines)
        first_log = logs_of(stack.container(first))
        assert f"Downloading {index_url.removesuffix('/simple')}/files/" in first_log, first_log
        assert "Using cached" not in first_log
        mounts = {m["Destination"]: m for m in stack.container(first).attrs["Mounts"]}
        volume = build_cache.volume_name(stack.settings, stack.project_id)
        assert mounts["/cache"]["Name"] == volume
        env = stack.container(first).attrs["Config"]["Env"]
        assert "PIP_CACHE_DIR=/cache/pip" in env and "npm_config_cache=/cache/npm" in env
        assert "UV_CACHE_DIR=/cache/uv" in env
        # The cache volume holds the downloaded wheel (pip's HTTP cache keeps its body).
        cached = package_index.cache_files(docker_engine, volume)
        assert any(wheel in data for data in cached.values()), sorted(cached)

        second_id = stack.deploy(queue)
        second = stack.wait_for(second_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
        assert second.status is DeploymentStatus.RUNNING, (second.error, child.log_tail())
        second_log = logs_of(stack.container(second))
        wheel_name = re.escape(package_index.WHEEL_NAME)
        assert re.search(rf"^\s*Using cached \S*{wheel_name}", second_log, re.M), second_log
        assert "Downloading" not in second_log, second_log

    # Deleting the project removes its cache volume (the worker's stop job cleans up).
    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        delete_project(session, project=project, queue=queue)
    deadline = time.monotonic() + 60
    while docker_engine.volumes.list(filters={"name": volume}):
        assert time.monotonic() < deadline, ("the cache volume stayed", child.log_tail())
        time.sleep(0.3)


def _stored_lines(settings: Settings, project_id: str, deployment_id: str) -> list[str]:
    """The deployment's lines in the log store (through the collector), oldest first."""

    async def read() -> list[str]:
        async with open_http_client(settings) as http:
            query = LogQuery(
                project_id=project_id,
                deployment_id=deployment_id,
                start=0,
                end=time.time_ns() + 60 * 10**9,
                direction="forward",
                limit=500,
            )
            return [item.entry.line for item in await drain(log_store(settings, http), query)]

    return asyncio.run(read())


def test_a_builds_lines_reach_the_log_store_while_it_builds(
    make_stack: Callable[..., Stack],
    sqlite_url: str,
    worker: Callable[..., processes.Child],
    running_log_stack: LogStack,
) -> None:
    stack = make_stack(
        sqlite_url,
        log_store=running_log_stack.backend,
        log_store_url=running_log_stack.store_url,
    )
    # A token per run: the builder's layer cache would skip a RUN it has seen before.
    token = uuid.uuid4().hex[:10]
    (stack.repo / "Dockerfile").write_text(
        "FROM devpush/runner-python:local\n"
        "WORKDIR /srv/site\n"
        "COPY . .\n"
        f"RUN echo first-{token} && sleep 4 && echo second-{token}\n"
        'CMD ["python3", "app.py"]\n'
    )
    git(stack.repo, "add", "Dockerfile")
    git(stack.repo, "commit", "-q", "-m", "A slow build")
    stack.update_project(build_from_dockerfile=True, start_command="")
    child = worker(stack.settings)
    queue = DeployQueue(huey_from_url(stack.settings.queue_url))

    deployment_id = stack.deploy(queue)
    deadline = time.monotonic() + 120
    while f"first-{token}" not in (
        stored := _stored_lines(stack.settings, stack.project_id, deployment_id)
    ):
        assert time.monotonic() < deadline, (stored, child.log_tail())
        time.sleep(0.3)
    # "first" is in the store while the build still runs: its RUN sleeps before "second".
    with stack.sessions() as session:
        assert stack.load(session, deployment_id).status is DeploymentStatus.BUILDING
    assert f"second-{token}" not in stored, stored
    assert "==> Build: docker build -f Dockerfile (the engine's builder)" in stored

    done = stack.wait_for(
        deployment_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED}, timeout=180
    )
    assert done.status is DeploymentStatus.RUNNING, (done.error, child.log_tail())
    deadline = time.monotonic() + 30
    while "==> Start: python3 app.py" not in (
        stored := _stored_lines(stack.settings, stack.project_id, deployment_id)
    ):
        assert time.monotonic() < deadline, stored
        time.sleep(0.3)
    # Then the rest, in order: the build's lines, then the runner's.
    order = [
        f"first-{token}",
        f"second-{token}",
        "==> Build: docker build -f Dockerfile (the engine's builder): built",
        "==> Start: python3 app.py",
    ]
    assert [stored.index(line) for line in order] == sorted(stored.index(line) for line in order)
