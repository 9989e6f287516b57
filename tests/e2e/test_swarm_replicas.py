"""A 2-replica environment on the two-node test swarm: one task on each host, both
answering through the proxy, and its URL failing no request while a host's engine is
stopped (tests/e2e/test_swarm_deploy.py's stack: the worker's own jobs and the proxy it
configures)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from devpush.models import DeploymentStatus, Environment, ProxyTableRow
from devpush.services.cluster import runner_services
from devpush.workers.tasks.reconcile import run_reconcile
from devpush_dev.engines import Engine, Swarm
from tests.e2e.swarm_polling import SLOW_SECONDS, polling
from tests.e2e.swarm_stack import SwarmStack, answer_of
from tests.e2e.swarm_stack import stack as stack  # the fixture

pytestmark = [pytest.mark.swarm, pytest.mark.docker]


def node_state(swarm: Swarm, engine: Engine) -> str:
    return swarm.manager.docker("node", "inspect", "--format", "{{.Status.State}}", engine.node_id)


def wait_node(swarm: Swarm, engine: Engine, state: str, timeout: float) -> float:
    """Seconds until the manager says the node is ``state``."""
    started = time.monotonic()
    while node_state(swarm, engine) != state:
        assert time.monotonic() - started < timeout, f"node {engine.hostname} not {state}"
        time.sleep(0.2)
    return time.monotonic() - started


def served_requests(engine: Engine, deployment_id: str) -> int:
    """The GET lines the deployment's task on ``engine`` logged (one per request)."""
    (container,) = engine.docker(
        "ps", "-q", "--filter", f"label=devpush.deployment_id={deployment_id}"
    ).split()
    return engine.docker("logs", container).count('"GET / HTTP/1.1" 200')


def table_addresses(stack: SwarmStack, host: str) -> list[str]:
    with stack.sessions() as session:
        row = session.scalar(select(ProxyTableRow).where(ProxyTableRow.host == host))
        assert row is not None, f"no proxy table row for {host}"
        return row.address.split()


def test_a_two_replica_environment_fails_no_request_when_a_host_stops(
    stack: SwarmStack,
) -> None:
    node_1, node_2 = stack.swarm.engines
    project_id = stack.project("replicas", "")  # no host label: Swarm spreads the tasks
    with stack.sessions() as session:
        environment = session.scalars(
            select(Environment).where(Environment.project_id == project_id)
        ).one()
        environment.replicas = 2
        session.commit()
    deployment_id, took = stack.deploy(project_id)
    deployment = stack.load(deployment_id)
    assert deployment.status is DeploymentStatus.RUNNING, deployment.error
    print(f"swarm deploy of 2 replicas: call → running in {took:.2f} s")
    assert deployment.container_id
    task = runner_services.get_service_task(
        stack.ctx.docker, stack.settings, deployment.container_id
    )
    assert task is not None
    assert task.nodes() == {node_1.node_id, node_2.node_id}

    # Both replicas answer through the proxy: the table holds both, and requests reach each.
    host = stack.environment_host(deployment_id)
    assert len(table_addresses(stack, host)) == 2
    assert answer_of(stack, host).status_code == 200
    for _ in range(30):
        assert stack.ask(host).status_code == 200
    for engine in (node_1, node_2):
        assert served_requests(engine, deployment_id) > 0, f"{engine.hostname} served none"

    try:
        with polling(stack, host) as poller:
            time.sleep(1)  # answers before the host goes away too
            stopped_at = time.monotonic()
            stack.swarm.stop_engine(node_2)
            stop_took = time.monotonic() - stopped_at
            down_after = wait_node(stack.swarm, node_2, "down", timeout=60)
            # What the failover helper's thread does when a node goes down; the reconcile
            # job (every minute) does it too, and keeps the deployment running.
            stack.ctx.proxy_table.refresh(stack.ctx)
            assert run_reconcile(ctx=stack.ctx) == []
            time.sleep(3)  # and after the table changed
        print(
            f"swarm replicas: node 2's engine stopped in {stop_took:.2f} s, down after "
            f"{down_after:.2f} s; {poller.answers} requests, {len(poller.failures)} failed, "
            f"slowest {poller.slowest:.2f} s, {poller.slow} over {SLOW_SECONDS} s"
        )
        assert poller.failures == [], poller.failures
        assert poller.answers > 10, poller.answers
        live = runner_services.get_service_task(
            stack.ctx.docker, stack.settings, deployment.container_id
        )
        assert live is not None and live.status == "running"
        assert stack.load(deployment_id).status is DeploymentStatus.RUNNING
        (address,) = table_addresses(stack, host)
        # Node 1's task's own address.
        (container,) = node_1.docker(
            "ps", "-q", "--filter", f"label=devpush.deployment_id={deployment_id}"
        ).split()
        networks = node_1.docker(
            "inspect", "--format", "{{json .NetworkSettings.Networks}}", container
        )
        assert f'"IPAddress":"{address}"' in networks, (address, networks)
    finally:
        stack.swarm.start_engine(node_2)
        wait_node(stack.swarm, node_2, "ready", timeout=90)
