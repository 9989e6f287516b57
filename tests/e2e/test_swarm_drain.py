"""Draining a swarm host through the worker's drain job: its deployment moves to the other
host with the usual zero-failure switch (tests/e2e/test_swarm_deploy.py's stack: the
worker's own jobs, the proxy it configures, on the two-node test swarm)."""

from __future__ import annotations

import time

import pytest
from huey import MemoryHuey

from devpush.models import Deployment, DeploymentStatus
from devpush.services.cluster import runner_services
from devpush.services.cluster.host_admin import HostChange, change_host
from devpush.services.cluster.nodes import list_hosts
from devpush.workers.host_leases import FAILOVER, HostBusy, HostLeases
from devpush.workers.queue import DeployQueue
from devpush.workers.tasks.drain import run_drain
from devpush_dev.engines import Engine
from tests.e2e.swarm_polling import polling
from tests.e2e.swarm_stack import SwarmStack, answer_of
from tests.e2e.swarm_stack import stack as stack  # the fixture

pytestmark = [pytest.mark.swarm, pytest.mark.docker]


def set_availability(engine: Engine, manager: Engine, availability: str) -> None:
    manager.docker("node", "update", "--availability", availability, engine.node_id)


def running_runners(engine: Engine) -> list[str]:
    return engine.docker("ps", "-q", "--filter", "label=devpush.deployment_id").split()


def test_a_drain_moves_a_deployment_to_the_other_host_with_no_failed_request(
    stack: SwarmStack,
) -> None:
    node_1, node_2 = stack.swarm.engines
    manager = stack.swarm.manager
    try:
        # A project placed on node 2 by its host label, which its admin then removes (a
        # label only node 2 has would keep its deployment there: see run_drain).
        project_id = stack.project("drain", "zone=two")
        old_id, _ = stack.deploy(project_id)
        stack.clear_placement_label(project_id)
        old = stack.load(old_id)
        assert old.status is DeploymentStatus.RUNNING, old.error
        assert stack.node_of(old) == node_2.node_id
        host = stack.environment_host(old_id)
        assert answer_of(stack, host).status_code == 200

        with polling(stack, host) as poller:
            time.sleep(1)  # the poller answers before the drain too
            drains = DeployQueue(MemoryHuey(immediate=False))
            started = time.monotonic()
            # What the API, the CLI and the page do: the host with a runner is paused and
            # the drain job queued; the worker then runs it.
            drain = HostChange(availability="drain")
            changed = change_host(stack.settings, node_2.hostname, drain, drains=drains)
            assert changed.availability == "pause"
            assert [t.args for t in drains.huey.pending()] == [(node_2.node_id,)]
            # A second drain call while the first one's job is queued or runs: refused.
            with pytest.raises(HostBusy, match="being drained already"):
                change_host(stack.settings, node_2.node_id, drain, drains=drains)
            assert len(drains.huey.pending()) == 1
            leases = HostLeases(drains.huey.storage)
            moved = run_drain(node_2.node_id, ctx=stack.ctx, leases=leases)
            assert leases.take(node_2.node_id, FAILOVER, 60) is None  # released
            deadline = time.monotonic() + 60
            while old_id_task_runs(stack, old):
                assert time.monotonic() < deadline, "the old runner still runs"
                time.sleep(0.1)
            took = time.monotonic() - started
            time.sleep(1)  # and after it
        print(
            f"swarm drain: drain call → old runner stopped in {took:.2f} s "
            f"({poller.answers} answers)"
        )

        assert poller.failures == [], poller.failures
        assert poller.answers > 10, poller.answers
        assert len(moved) == 1
        new = stack.load(moved[0])
        assert new.status is DeploymentStatus.RUNNING, new.error
        assert new.commit_sha == old.commit_sha
        assert stack.node_of(new) == node_1.node_id
        assert stack.load(old_id).status is DeploymentStatus.SUPERSEDED
        assert answer_of(stack, host).status_code == 200
        # Node 2 is drained and runs no runner: the old one stopped, no new one came.
        states = {h.id: h.availability for h in list_hosts(stack.settings)}
        assert states[node_2.node_id] == "drain"
        assert running_runners(node_2) == []
        assert not node_2.docker(
            "ps", "-aq", "--filter", f"label=devpush.deployment_id={new.id}"
        ).split()
    finally:
        set_availability(node_1, manager, "active")
        set_availability(node_2, manager, "active")


def old_id_task_runs(stack: SwarmStack, deployment: Deployment) -> bool:
    assert deployment.container_id
    task = runner_services.get_service_task(
        stack.ctx.docker, stack.settings, deployment.container_id
    )
    return task is not None and task.status == "running"
