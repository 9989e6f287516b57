"""Swarm mode through the deploy worker's own code: ``run_deploy``, ``run_stop`` and
``run_cleanup`` with ``DEVPUSH_SWARM`` on, on the two-node test swarm (tests/fixtures/swarm.py).

The proxy is the one devpush configures: a Caddy container on node 1 (the manager) with
its admin and probe sockets in a directory the test shares with it, the config the worker
loads, and a route resolver on the test machine reading the proxy table the worker
writes from the tasks' IPs. The worker attaches Caddy to each project's overlay and checks
readiness through Caddy's probe socket (``runner_address = "proxy"``), as in Compose.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from devpush.core.db import session_scope
from devpush.models import DeploymentStatus, DeployStep
from devpush.services.cluster import runner_services
from devpush.services.deployments import transition
from devpush.workers.tasks.stop import run_cleanup, run_stop
from tests.e2e.swarm_stack import ZONES, SwarmStack, answer_of, task_containers
from tests.e2e.swarm_stack import stack as stack  # the fixture

pytestmark = [pytest.mark.swarm, pytest.mark.docker]


def test_a_deploy_pinned_to_each_host_answers_through_the_proxy_and_a_stop_keeps_its_lines(
    stack: SwarmStack,
) -> None:
    node_1, node_2 = stack.swarm.engines
    placed: dict[str, str] = {}
    for zone in ZONES:
        deployment_id, took = stack.deploy(stack.project(zone, f"zone={zone}"))
        deployment = stack.load(deployment_id)
        assert deployment.status is DeploymentStatus.RUNNING, deployment.error
        print(f"swarm deploy on zone={zone}: call → running in {took:.2f} s")
        placed[zone] = deployment_id
    assert stack.node_of(stack.load(placed["one"])) == node_1.node_id
    assert stack.node_of(stack.load(placed["two"])) == node_2.node_id
    for zone in ZONES:
        answer = answer_of(stack, stack.url_host(placed[zone]))
        assert answer.status_code == 200, (zone, answer.status_code, answer.text[:200])

    # A stop: the proxy no longer routes to it, the task's container and log stay on node 2.
    stopped = placed["two"]
    host = stack.url_host(stopped)
    with session_scope(stack.sessions) as session:
        assert transition(session, deployment_id=stopped, to=DeploymentStatus.STOPPED)
    run_stop(stopped, ctx=stack.ctx)
    assert answer_of(stack, host).status_code == 404
    kept = task_containers(node_2, stopped)
    assert kept, "the stopped task's container is gone from its host"
    deadline = time.monotonic() + 30
    while node_2.docker("inspect", "--format", "{{.State.Running}}", kept[0]) == "true":
        assert time.monotonic() < deadline, "the stopped task still runs"
        time.sleep(0.3)
    lines = node_2.docker("logs", kept[0])
    assert "==> Start: python3 app.py" in lines
    # The other host's deployment still answers.
    assert answer_of(stack, stack.url_host(placed["one"])).status_code == 200

    # The cleanup removes the ended service (its log shipped by then), not the running one.
    now = dataclasses.replace(
        stack.ctx, settings=stack.settings.model_copy(update={"runner_cleanup_after_seconds": 0})
    )
    # The manager marks the task ended a moment after its container stopped.
    deadline = time.monotonic() + 30
    while not (removed := run_cleanup(ctx=now)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert removed == [f"devpush-runner-{stopped}"]
    assert runner_services.get_service_task(now.docker, now.settings, stopped) is None
    assert stack.node_of(stack.load(placed["one"])) == node_1.node_id


def test_a_failing_build_on_the_second_host_keeps_its_failure_record(
    stack: SwarmStack,
) -> None:
    project_id = stack.project(
        "bad", "zone=two", build_command="echo compiling on the second host; exit 3"
    )
    deployment_id, _ = stack.deploy(project_id)
    deployment = stack.load(deployment_id)
    assert deployment.status is DeploymentStatus.FAILED
    assert deployment.error == "Build exited with code 3"
    assert deployment.failure_step is DeployStep.BUILD
    assert deployment.exit_code == 3
    # The step's own lines, read through the manager from the task's log on node 2.
    assert deployment.failure_lines == ["compiling on the second host"]
    assert stack.node_of(deployment) == stack.swarm.engines[1].node_id
