"""Swarm tasks hardened and restarted, through the worker's own code on the two-node swarm
(the stack of tests/e2e/test_swarm_deploy.py: ``run_deploy``, the proxy the worker
configures, its route resolver):

- a task's app runs with no new privileges (the kernel's flag its command sets) and
  without the source token;
- a running deployment whose app stops answering its health path is restarted as a new
  task of its service (a fresh token, its source fetched again, the build again), which
  the proxy reaches at its new address and which passes its check; past the restart
  bound it stays unhealthy and gets no new task.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devpush.models import Deployment, DeploymentStatus, HealthStatus, Project
from devpush.services.cluster import runner_services
from devpush.workers.health_watch import HealthWatch
from tests.e2e.support import commit_health_app, health_app_fields
from tests.e2e.swarm_stack import SwarmStack, answer_of
from tests.e2e.swarm_stack import stack as stack  # the fixture

pytestmark = [pytest.mark.swarm, pytest.mark.docker]


def set_project(stack: SwarmStack, project_id: str, **fields: object) -> None:
    with stack.sessions() as session:
        project = session.get(Project, project_id)
        assert project is not None
        for name, value in fields.items():
            setattr(project, name, value)
        session.commit()


def service_of(stack: SwarmStack, deployment_id: str) -> dict[str, object]:
    deployment = stack.load(deployment_id)
    assert deployment.container_id, "the worker recorded no service"
    service: dict[str, object] = stack.ctx.docker.api.inspect_service(deployment.container_id)
    return service


def tasks_of(stack: SwarmStack, deployment_id: str) -> list[dict[str, object]]:
    deployment = stack.load(deployment_id)
    tasks: list[dict[str, object]] = stack.ctx.docker.api.tasks(
        filters={"service": deployment.container_id}
    )
    return tasks


def service_lines(stack: SwarmStack, deployment_id: str) -> str:
    deployment = stack.load(deployment_id)
    assert deployment.container_id
    task = runner_services.get_service_task(
        stack.ctx.docker, stack.settings, deployment.container_id
    )
    assert task is not None
    return bytes(task.logs(tail=200)).decode(errors="replace")


def source_token(service: dict[str, object]) -> str:
    spec = service["Spec"]
    assert isinstance(spec, dict)
    env = spec["TaskTemplate"]["ContainerSpec"]["Env"]
    prefix = f"{runner_services.SOURCE_TOKEN_ENV}="
    [token] = [item.removeprefix(prefix) for item in env if item.startswith(prefix)]
    return str(token)


def test_a_tasks_app_runs_without_new_privileges_and_without_the_token(
    stack: SwarmStack,
) -> None:
    project_id = stack.project("nnp", "zone=two")
    set_project(
        stack,
        project_id,
        start_command=(
            "grep NoNewPrivs /proc/self/status; echo token:${DEVPUSH_SOURCE_TOKEN:-gone};"
            " exec python3 app.py"
        ),
    )
    deployment_id, _ = stack.deploy(project_id)
    deployment = stack.load(deployment_id)
    assert deployment.status is DeploymentStatus.RUNNING, deployment.error
    assert stack.node_of(deployment) == stack.swarm.engines[1].node_id
    deadline = time.monotonic() + 30
    while "token:" not in (lines := service_lines(stack, deployment_id)):
        assert time.monotonic() < deadline, lines
        time.sleep(0.5)
    assert "NoNewPrivs:\t1" in lines, lines
    assert "token:gone" in lines, lines
    assert source_token(service_of(stack, deployment_id)) not in lines
    assert answer_of(stack, stack.url_host(deployment_id)).status_code == 200


def test_an_app_that_stops_answering_its_check_is_restarted_as_a_new_task(
    stack: SwarmStack,
) -> None:
    project_id = stack.project("heal", "zone=two")
    with stack.sessions() as session:
        project = session.get(Project, project_id)
        assert project is not None
        repo = Path(project.repo_url)
    commit_health_app(repo)
    # Healthy for its first 8 s after each start, then broken.
    set_project(
        stack,
        project_id,
        **health_app_fields("ANSWER=served BROKEN_AFTER=8", expect="200", grace_seconds=30),
        health_interval_seconds=1,
        health_failure_threshold=2,
    )
    deployment_id, _ = stack.deploy(project_id)
    deployment = stack.load(deployment_id)
    assert deployment.status is DeploymentStatus.RUNNING, deployment.error
    host = stack.url_host(deployment_id)
    first_token = source_token(service_of(stack, deployment_id))
    [first_task] = [str(task["ID"]) for task in tasks_of(stack, deployment_id)]
    first = stack.load(deployment_id)
    assert answer_of(stack, host).text == "served\n"

    # One restart allowed: the second break shows the bound, as on one server.
    bounded = stack.settings.model_copy(update={"health_max_restarts": 1})
    checks = HealthWatch(dataclasses.replace(stack.ctx, settings=bounded))

    def watch_until(done: Callable[[Deployment], bool], *, timeout: float = 90) -> Deployment:
        """The worker's health rounds (its thread's code), until ``done``."""
        deadline = time.monotonic() + timeout
        while True:
            checks.tick()
            seen = stack.load(deployment_id)
            if done(seen):
                return seen
            assert time.monotonic() < deadline, (seen.status, seen.health_error, seen.error)
            time.sleep(0.3)

    restarted = watch_until(lambda d: d.health_restarts >= 1)
    assert restarted.status is DeploymentStatus.RUNNING, restarted.error
    assert restarted.health_error is not None
    assert "GET /healthz (expects 200): status 500: broken" in restarted.health_error
    assert len(restarted.health_restart_times or []) == 1
    # A new task of the same service, with a fresh token, on the host its label names.
    service = service_of(stack, deployment_id)
    assert service["ID"] == first.container_id
    assert source_token(service) != first_token
    tasks = {str(task["ID"]): task for task in tasks_of(stack, deployment_id)}
    assert first_task in tasks and len(tasks) == 2, tasks.keys()
    assert stack.node_of(restarted) == stack.swarm.engines[1].node_id
    # It builds again, starts, passes its check, and the proxy reaches it.
    healed = watch_until(
        lambda d: d.health_status is HealthStatus.HEALTHY and d.health_restarts == 1
    )
    assert healed.status is DeploymentStatus.RUNNING
    assert healed.health_checked_at is not None
    restarted_at = datetime.fromisoformat((healed.health_restart_times or [""])[0])
    took = (healed.health_checked_at.replace(tzinfo=UTC) - restarted_at).total_seconds()
    print(f"\nswarm health restart: decided → the new task passes its check in {took:.2f} s")
    assert answer_of(stack, host).text == "served\n"
    lines = service_lines(stack, deployment_id)
    assert "==> Restart: the health check GET /healthz (expects 200) failed 2 times" in lines
    assert lines.count("==> Build: python3 build.py") == 2, lines

    # Broken again 8 s after its new start: past the bound it stays unhealthy, no new task.
    given_up = watch_until(lambda d: "not restarted again" in (d.health_error or ""))
    assert given_up.status is DeploymentStatus.RUNNING
    assert given_up.health_status is HealthStatus.UNHEALTHY
    assert given_up.health_restarts == 1
    assert given_up.health_error == (
        "GET /healthz (expects 200): status 500: broken; not restarted again: 1 restarts"
        " within 600 s, the most allowed"
    )
    assert len(tasks_of(stack, deployment_id)) == 2
