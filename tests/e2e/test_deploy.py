"""Deploying examples/hello-python from a real git repository into real runner containers.

One test goes the whole way: the service enqueues on a SQLite huey queue, a
``python -m devpush.workers`` process consumes it and reaches Docker through the
worker's socket-proxy door. The others call the deploy job directly, on SQLite
and PostgreSQL. Every container and network made here is removed afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import docker
import httpx
import pytest
from fastapi.testclient import TestClient

from devpush.core.labels import RUNNER_LABELS, RUNNER_LOG_LABELS_OPTION
from devpush.models import DeploymentStatus, DeployStep, Project
from devpush.services.deployments import cancel_deployment, create_deployment
from devpush.services.failure import FAILURE_LINES
from devpush.services.networks import project_network
from devpush.workers.queue import DeployQueue, huey_from_url
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.deploy import run_deploy
from devpush.workers.tasks.reconcile import ABANDONED_ERROR, abandoned_after, run_reconcile
from devpush.workers.tasks.stop import run_cleanup
from devpush_dev import processes
from tests.e2e.support import (
    Stack,
    app_url,
    hello,
    logs_of,
    memory_queue,
    page_lines,
    queue_deployment,
    shown_failure,
    wait_exited,
)
from tests.utils.git import git

pytestmark = pytest.mark.docker


def test_deploy_redeploy_and_cancel_through_a_worker_process(
    stack: Stack, worker: Callable[..., processes.Child]
) -> None:
    child = worker(stack.settings)
    queue = DeployQueue(huey_from_url(stack.settings.queue_url))

    first_id = stack.deploy(queue)
    try:
        first = stack.wait_for(first_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
    finally:
        assert child.running(), child.log_tail()
    assert first.status is DeploymentStatus.RUNNING, (first.error, child.log_tail())
    assert first.commit_sha == git(stack.repo, "rev-parse", "HEAD")
    assert first.commit_message == "Hello devpush"

    # The app answers on the runner network, built by the build step.
    answer = httpx.get(app_url(stack, first), timeout=5).text
    assert answer == hello(first)

    container = stack.container(first)
    attrs = container.attrs
    assert {k: attrs["Config"]["Labels"][k] for k in RUNNER_LABELS} == {
        "devpush.project_id": first.project_id,
        "devpush.environment_id": first.environment_id,
        "devpush.branch": "main",
        "devpush.deployment_id": first.id,
    }
    assert attrs["Config"]["Labels"]["devpush.role"] == "runner"
    assert attrs["HostConfig"]["LogConfig"] == {
        "Type": "json-file",
        "Config": {"max-file": "5", "max-size": "10m", "labels": RUNNER_LOG_LABELS_OPTION},
    }
    assert attrs["HostConfig"]["Memory"] == 256 * 1024 * 1024
    assert attrs["HostConfig"]["NanoCpus"] == 500_000_000
    assert attrs["HostConfig"]["Init"] is True
    # No host port: only the proxy and the worker reach the app, on its project's network
    # (docs/network.md), and it is on no other.
    assert not attrs["HostConfig"]["PortBindings"]
    assert first.host_port is None
    own = project_network(stack.settings, stack.project_id)
    assert list(attrs["NetworkSettings"]["Networks"]) == [own]
    env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
    assert (env["GREETING"], env["SHARED"], env["PORT"]) == ("hi", "env", "8000")

    story = logs_of(container).splitlines()
    assert story[0] == f"==> Deploying branch main at {first.commit_sha[:12]}: Hello devpush"
    assert "==> Build: python3 build.py" in story
    assert "Build finished" in story
    assert "==> Pre-deploy: skipped (no command)" in story
    assert "==> Start: python3 app.py" in story
    assert "Listening on port 8000" in story

    # A new commit, redeployed: the new one runs, the old one is superseded and stopped.
    stack.commit_build_line("second build", "Second build")
    second = stack.redeploy_running(first_id, queue, child)
    second_id = second.id
    assert second.commit_message == "Second build"
    assert "second build" in logs_of(stack.container(second))
    first = stack.wait_for(first_id, {DeploymentStatus.SUPERSEDED})
    # Stopped, and kept for its last log lines.
    assert wait_exited(stack.container(first)) == "exited"
    assert httpx.get(app_url(stack, second), timeout=5).status_code == 200

    # Cancel the running deployment: the worker process stops its container.
    with stack.sessions() as session:
        cancel_deployment(session, deployment=stack.load(session, second_id), queue=queue)
    assert wait_exited(stack.container(second)) == "exited", child.log_tail()
    assert stack.wait_for(second_id, {DeploymentStatus.STOPPED}).finished_at is not None


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


def test_failing_build_ends_failed_with_its_code_and_keeps_its_container(
    make_stack: Callable[..., Stack], db_url: str, client: TestClient
) -> None:
    stack = make_stack(
        db_url, build_command='for i in $(seq 1 80); do echo "compiling $i"; done; exit 3'
    )
    deployment_id = queue_deployment(stack)

    run_deploy(deployment_id, ctx=stack.ctx)

    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.exit_code == 3
    assert deployment.error == "Build exited with code 3"
    assert deployment.finished_at is not None
    container = stack.container(deployment)
    assert container.status == "exited"
    lines = logs_of(container).splitlines()
    assert lines[-2:] == ["compiling 80", "==> Build failed with exit code 3"]
    assert "==> Start: python3 app.py" not in lines

    # The failure record: the build's last 50 lines exactly, kept on the row.
    expected = [f"compiling {i}" for i in range(31, 81)]
    assert len(expected) == FAILURE_LINES
    assert (deployment.failure_step, deployment.failure_lines) == (DeployStep.BUILD, expected)
    block, api = shown_failure(stack, client, deployment)
    assert "<dt>Step</dt><dd>Build</dd>" in block
    assert "<dt>Exit code</dt><dd><code>3</code></dd>" in block
    assert page_lines(block) == expected
    assert api == {"step": "build", "exit_code": 3, "lines": expected}

    # The cleanup job removes it once the grace period has passed (here: at once).
    ctx = WorkerContext(
        settings=stack.settings.model_copy(update={"runner_cleanup_after_seconds": 0}),
        sessions=stack.sessions,
        docker=stack.ctx.docker,
    )
    assert container.name in run_cleanup(ctx=ctx)
    with pytest.raises(docker.errors.NotFound):
        container.reload()


def test_cancel_during_build_stops_the_runner(
    make_stack: Callable[..., Stack], db_url: str
) -> None:
    stack = make_stack(db_url, build_command="echo building; sleep 60")
    deployment_id = queue_deployment(stack)
    job = threading.Thread(target=run_deploy, args=(deployment_id,), kwargs={"ctx": stack.ctx})
    job.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            with stack.sessions() as session:
                deployment = stack.load(session, deployment_id)
            if deployment.container_id and "building" in logs_of(stack.container(deployment)):
                break
            assert time.monotonic() < deadline, "the build never started"
            time.sleep(0.2)
        assert deployment.status is DeploymentStatus.BUILDING
        with stack.sessions() as session:
            cancel_deployment(
                session, deployment=stack.load(session, deployment_id), queue=memory_queue()
            )
    finally:
        job.join(timeout=30)
    assert not job.is_alive()
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.STOPPED}, timeout=1)
    container = stack.container(deployment)
    assert container.status == "exited"
    assert "==> Start:" not in logs_of(container)


def test_unknown_branch_fails_with_the_git_error(
    make_stack: Callable[..., Stack], db_url: str
) -> None:
    stack = make_stack(db_url)
    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        deployment_id = create_deployment(
            session, project=project, branch="nope", created_by=None, queue=memory_queue()
        ).id

    run_deploy(deployment_id, ctx=stack.ctx)

    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.error is not None
    assert deployment.error.startswith("git clone failed")
    assert deployment.container_id is None
    assert deployment.failure_step is DeployStep.CLONE
    assert deployment.failure_lines == [deployment.error]
    assert deployment.exit_code is None


def test_a_failing_start_command_keeps_its_own_lines(
    make_stack: Callable[..., Stack], db_url: str, client: TestClient
) -> None:
    stack = make_stack(db_url)
    # Hostile output: markup, colours, an OSC title, invalid UTF-8 and a NUL byte.
    stack.update_project(
        start_command="echo starting; "
        "printf '<img src=x onerror=alert(1)> \\033[31mboom\\033[0m\\n'; "
        "printf '\\033]0;title\\007bad \\377 byte, nul \\000 here\\n'; exit 4",
    )
    deployment_id = queue_deployment(stack)

    run_deploy(deployment_id, ctx=stack.ctx)

    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.error == "Start exited with code 4"
    lines = [
        "starting",
        "<img src=x onerror=alert(1)> \x1b[31mboom\x1b[0m",
        "\x1b]0;title\x07bad \ufffd byte, nul \ufffd here",
    ]
    assert (deployment.failure_step, deployment.exit_code) == (DeployStep.START, 4)
    # Only the start command's lines: the build's and the script's announcements are not.
    assert deployment.failure_lines == lines
    block, api = shown_failure(stack, client, deployment)
    assert page_lines(block) == [
        "starting",
        '&lt;img src=x onerror=alert(1)&gt; <span class="ansi-fg-1">boom</span>',
        "bad \ufffd byte, nul \ufffd here",
    ]
    assert "<img" not in block
    assert api == {"step": "start", "exit_code": 4, "lines": lines}


def test_an_app_that_never_answers_times_out_and_is_stopped(
    make_stack: Callable[..., Stack], sqlite_url: str
) -> None:
    stack = make_stack(sqlite_url, build_command="")
    stack.update_project(start_command="echo not listening; sleep 60")
    deployment_id = queue_deployment(stack)
    ctx = WorkerContext(
        settings=stack.settings.model_copy(update={"runner_ready_timeout_seconds": 2}),
        sessions=stack.sessions,
        docker=stack.ctx.docker,
    )

    run_deploy(deployment_id, ctx=ctx)

    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.error == "no answer on port 8000 within 2 s"
    assert wait_exited(stack.container(deployment)) == "exited"
    assert deployment.failure_step is DeployStep.READY_CHECK
    assert (deployment.exit_code, deployment.failure_lines) == (None, ["not listening"])


def test_an_app_that_crashes_after_running_is_marked_failed(
    make_stack: Callable[..., Stack], db_url: str
) -> None:
    stack = make_stack(db_url)
    deployment_id = queue_deployment(stack)
    run_deploy(deployment_id, ctx=stack.ctx)
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.RUNNING}, timeout=1)
    assert run_reconcile(ctx=stack.ctx) == []  # healthy: left alone

    stack.container(deployment).kill()  # SIGKILL: the app dies as an OOM kill would
    assert wait_exited(stack.container(deployment)) == "exited"

    assert run_reconcile(ctx=stack.ctx) == [deployment_id]
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.exit_code == 137
    assert deployment.error == "App exited with code 137 while running"
    assert deployment.failure_step is DeployStep.START
    # The app's own lines: its start, then the worker's ready check in its access log.
    assert deployment.failure_lines is not None
    assert deployment.failure_lines[0] == "Listening on port 8000"
    assert '"GET / HTTP/1.1" 200' in deployment.failure_lines[1]
    assert run_reconcile(ctx=stack.ctx) == []  # idempotent


def test_a_build_whose_worker_was_killed_ends_failed_and_its_runner_stops(
    make_stack: Callable[..., Stack], sqlite_url: str, worker: Callable[..., processes.Child]
) -> None:
    # The build sleeps: the worker process is SIGKILLed while it follows it.
    stack = make_stack(sqlite_url, build_command="sleep 120")
    child = worker(stack.settings)
    queue = DeployQueue(huey_from_url(stack.settings.queue_url))
    deployment_id = stack.deploy(queue)
    # Killed once the build runs: a kill between create and start would leave nothing to stop.
    deadline = time.monotonic() + 60
    while (
        deployment := stack.wait_for(deployment_id, {DeploymentStatus.BUILDING})
    ).container_id is None or stack.container(deployment).status != "running":
        assert time.monotonic() < deadline, child.log_tail()
        time.sleep(0.2)
    child.kill()

    # While a live job could still follow it, the build is left alone.
    assert run_reconcile(ctx=stack.ctx) == []
    assert stack.wait_for(deployment_id, {DeploymentStatus.BUILDING}).status is (
        DeploymentStatus.BUILDING
    )
    # Past every limit of a job (the clock moved on: the row's start, moved back).
    with stack.sessions() as session:
        row = stack.load(session, deployment_id)
        row.started_at = datetime.now(UTC) - abandoned_after(stack.ctx) - timedelta(seconds=1)
        session.commit()
    assert run_reconcile(ctx=stack.ctx) == [deployment_id]
    failed = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert failed.error == ABANDONED_ERROR
    assert wait_exited(stack.container(failed)) == "exited"
    assert run_reconcile(ctx=stack.ctx) == []  # idempotent
