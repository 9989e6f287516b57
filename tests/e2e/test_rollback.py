"""Rollback to a kept build, with a real worker process, real Docker, Caddy and the resolver.

v1 and v2 of examples/hello-python are deployed (v2 answers differently), then the
environment rolls back to v1 while clients request its URL through Caddy in a loop:
no request fails, v1 answers again within 3 s of the call, and the rollback's runner
ran no build step (its log has no ``==> Build`` line and no build marker).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import docker
import pytest

from devpush.models import DeploymentStatus, DeployTrigger, Project
from devpush.services.deployments import cancel_deployment
from devpush.services.project_settings import delete_project
from devpush.services.rollback import RollbackRefused, rollback
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.deploy import run_deploy
from devpush.workers.tasks.stop import run_cleanup, run_stop
from devpush_dev import processes
from devpush_dev.caddy import Caddy
from tests.e2e.proxy_polling import Poller, env_host, poll_more, through_proxy
from tests.e2e.support import (
    Stack,
    deploy_hi_again,
    first_running,
    hello,
    logs_of,
    memory_queue,
    queue_deployment,
    wait_exited,
    wait_kept,
)

pytestmark = pytest.mark.docker

#: The build command prints this: a rollback's runner must not.
BUILD_MARKER = "BUILD-MARKER-rollback-e2e"
BUILD_COMMAND = f"python3 build.py && echo {BUILD_MARKER}"


def kept_tags(engine: docker.DockerClient, project_id: str) -> set[str]:
    """The project's build images on the engine, by name."""
    images = engine.images.list(name=f"devpush-build/{project_id}")
    return {tag for image in images for tag in image.tags}


def test_rollback_serves_the_kept_build_without_a_failed_request(
    make_stack: Callable[..., Stack],
    sqlite_url: str,
    worker: Callable[..., processes.Child],
    caddy: Caddy,
    docker_engine: docker.DockerClient,
) -> None:
    stack = make_stack(sqlite_url, build_command=BUILD_COMMAND)
    child, queue, v1 = first_running(stack, worker)
    v1_id = v1.id
    v1_image = wait_kept(stack, v1_id)
    assert v1_image == f"devpush-build/{stack.project_id}:{v1_id}"
    labels = docker_engine.images.get(v1_image).labels
    assert labels["devpush.deployment_id"] == v1_id
    assert labels["devpush.environment_id"] == v1.environment_id
    # The commit did not freeze or stop the app.
    assert stack.container(v1).status == "running"

    # v2: the app answers differently.
    v2 = deploy_hi_again(stack, queue, child)
    v2_id = v2.id
    wait_kept(stack, v2_id)
    stack.wait_for(v1_id, {DeploymentStatus.SUPERSEDED})
    env = env_host(stack, v2_id)
    assert through_proxy(caddy, env).text == hello(v2, "Hi again")

    # Roll back to v1 while clients request the environment's URL.
    pollers = [Poller(caddy, env, keep_alive=k) for k in (False, True)]
    for poller in pollers:
        poller.start()
    try:
        time.sleep(0.5)
        started = time.monotonic()
        with stack.sessions() as session:
            target = stack.load(session, v1_id)
            project = session.get(Project, stack.project_id)
            assert project is not None
            back_id = rollback(
                session, project=project, target=target, created_by=None, queue=queue
            ).id
        while through_proxy(caddy, env).text != hello(v1):
            assert time.monotonic() - started < 3, (
                "v1 did not serve again within 3 s of the rollback",
                child.log_tail(),
            )
            time.sleep(0.05)
        serving_after = time.monotonic() - started
        back = stack.wait_for(back_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
        assert back.status is DeploymentStatus.RUNNING, (back.error, child.log_tail())
        stack.wait_for(v2_id, {DeploymentStatus.SUPERSEDED})
        with stack.sessions() as session:
            assert wait_exited(stack.container(stack.load(session, v2_id))) == "exited"
        poll_more(pollers, 50)
    finally:
        for poller in pollers:
            poller.done.set()
            poller.join(timeout=10)
    print(f"\nrollback: v1 served again {serving_after:.2f} s after the call")
    for poller in pollers:
        print(
            f"rollback under load (keep-alive {poller.keep_alive}): {poller.total} requests, "
            f"{len(poller.failures)} failed, answers {dict(poller.answers)}"
        )
        assert poller.failures == [], poller.failures[:5]
        assert set(poller.answers) == {hello(v1), hello(v2, "Hi again")}
    assert through_proxy(caddy, env).text == hello(v1)

    # The rollback ran the kept build: no clone, no build, no pre-deploy.
    assert (back.trigger, back.rollback_of_id) == (DeployTrigger.ROLLBACK, v1_id)
    assert (back.commit_sha, back.commit_message) == (v1.commit_sha, v1.commit_message)
    assert back.build_image is None  # v1's build is the one kept
    runner_log = logs_of(stack.container(back))
    assert runner_log.startswith(
        f"==> Rollback: starting the build of deployment {v1_id[:8]} (commit {v1.commit_sha[:12]})"
    ), runner_log
    assert "==> Start: python3 app.py" in runner_log
    for absent in ("==> Build", "==> Pre-deploy", BUILD_MARKER, "Building hello-python"):
        assert absent not in runner_log, runner_log
    assert BUILD_MARKER in logs_of(stack.container(v1))  # the deploy did build
    build_kept = [line for line in child.log_tail(200).splitlines() if "build kept as" in line]
    print("\n".join(build_kept))

    with stack.sessions() as session:
        environment = stack.load(session, back_id).environment
        assert environment.auto_deploy_paused
        # Rolling back to what already serves is refused.
        project = session.get(Project, stack.project_id)
        assert project is not None
        with pytest.raises(RollbackRefused, match="already serving"):
            rollback(
                session,
                project=project,
                target=stack.load(session, v1_id),
                created_by=None,
                queue=queue,
            )
    # A manual deploy resumes auto-deploys.
    v3_id = stack.deploy(queue)
    with stack.sessions() as session:
        assert not stack.load(session, v3_id).environment.auto_deploy_paused
    v3 = stack.wait_for(v3_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
    assert v3.status is DeploymentStatus.RUNNING, (v3.error, child.log_tail())
    assert through_proxy(caddy, env).text == hello(v3, "Hi again")


def test_only_the_newest_builds_are_kept(
    stack: Stack,
    docker_engine: docker.DockerClient,
) -> None:
    ctx = WorkerContext(
        settings=stack.settings.model_copy(update={"rollback_builds_kept": 2}),
        sessions=stack.sessions,
        docker=stack.ctx.docker,
    )
    ids = []
    for _ in range(3):
        deployment_id = queue_deployment(stack)
        run_deploy(deployment_id, ctx=ctx)
        ids.append(deployment_id)
    with stack.sessions() as session:
        rows = [stack.load(session, deployment_id) for deployment_id in ids]
        assert [row.status for row in rows] == [
            DeploymentStatus.SUPERSEDED,
            DeploymentStatus.SUPERSEDED,
            DeploymentStatus.RUNNING,
        ]
        assert rows[0].build_image is None
        assert [row.build_image for row in rows[1:]] == [
            f"devpush-build/{stack.project_id}:{deployment_id}" for deployment_id in ids[1:]
        ]
        assert kept_tags(docker_engine, stack.project_id) == {
            f"devpush-build/{stack.project_id}:{i}" for i in ids[1:]
        }
        project = session.get(Project, stack.project_id)
        assert project is not None
        with pytest.raises(RollbackRefused, match="no longer kept"):
            rollback(
                session, project=project, target=rows[0], created_by=None, queue=memory_queue()
            )
        # The second one can still be rolled back to.
        back = rollback(
            session, project=project, target=rows[1], created_by=None, queue=memory_queue()
        )
        assert back.status is DeploymentStatus.QUEUED
        back_id = back.id

    # The hourly cleanup keeps one build here, but not one a queued rollback starts.
    keep_one = WorkerContext(
        settings=stack.settings.model_copy(update={"rollback_builds_kept": 1}),
        sessions=stack.sessions,
        docker=stack.ctx.docker,
    )
    run_cleanup(ctx=keep_one)
    with stack.sessions() as session:
        assert stack.load(session, ids[1]).build_image is not None
        cancel_deployment(session, deployment=stack.load(session, back_id), queue=memory_queue())
    run_cleanup(ctx=keep_one)
    with stack.sessions() as session:
        assert stack.load(session, ids[1]).build_image is None
        assert stack.load(session, ids[2]).build_image is not None
    assert kept_tags(docker_engine, stack.project_id) == {
        f"devpush-build/{stack.project_id}:{ids[2]}"
    }

    # Deleting the project removes its kept builds with its runners.
    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        runner_ids = delete_project(session, project=project, queue=memory_queue())
    for deployment_id in runner_ids:
        run_stop(deployment_id, ctx=ctx)
    assert kept_tags(docker_engine, stack.project_id) == set()
