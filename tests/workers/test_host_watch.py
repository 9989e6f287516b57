"""The host watch: where a dead host's deployment may go, when a host counts as dead, and
what a deployment that cannot leave it says."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from huey import MemoryHuey
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import Deployment, DeploymentStatus, Project
from devpush.services.cluster.nodes import Host
from devpush.services.notifications.messages import FAILED
from devpush.workers import host_watch
from devpush.workers.host_leases import HostLeases
from devpush.workers.host_watch import (
    UNKNOWN_GRACE,
    HostWatch,
    is_dead,
    lost_reason,
    no_place_reason,
)
from devpush.workers.tasks.moves import Move
from tests.fixtures.db import add_deployment, row_of
from tests.utils.notify import RecordedNotices


def _host(node_id: str, **changes: object) -> Host:
    host = Host(
        id=node_id, hostname=f"host-{node_id}", address="", state="ready",
        availability="active", role="worker", labels={}, runners=0, cpus=1, memory_bytes=1,
    )  # fmt: skip
    return dataclasses.replace(host, **changes)  # type: ignore[arg-type]


def test_a_deployment_may_go_to_a_ready_active_host_with_its_label() -> None:
    dead = _host("a", state="down", labels={"zone": "two"})
    alive = _host("b", labels={"zone": "one"})
    assert no_place_reason([dead, alive], None) is None
    assert no_place_reason([dead, alive], "zone=one") is None
    assert no_place_reason([dead, alive], "zone=two") == (
        "no other ready, active host has the label zone=two"
    )
    for other in (_host("b", availability="drain"), _host("b", availability="pause"),
                  _host("b", state="unknown")):  # fmt: skip
        assert no_place_reason([dead, other], None) == "no other host is ready and active"


def test_a_lost_deployment_names_the_host_and_when_it_went_down() -> None:
    down_at = datetime(2026, 12, 6, 8, 51, 2)
    reason = lost_reason(_host("a"), down_at, "no other host is ready and active")
    assert reason == (
        "lost: host host-a went down at 2026-12-06 08:51:02 UTC; no other host is ready and active"
    )


def test_a_host_is_dead_when_down_and_unknown_only_after_the_grace() -> None:
    assert not is_dead("ready", timedelta(hours=1))
    assert is_dead("down", timedelta(0))
    assert is_dead("disconnected", timedelta(0))
    # A restarted manager lists every host unknown for a moment: not yet gone.
    assert not is_dead("unknown", UNKNOWN_GRACE - timedelta(seconds=1))
    assert is_dead("unknown", UNKNOWN_GRACE)


class _Api:
    def __init__(self, states: dict[str, str]) -> None:
        self.states = states

    def nodes(self) -> list[dict[str, object]]:
        return [
            {"ID": node_id, "Status": {"State": state}, "Spec": {"Availability": "active"}}
            for node_id, state in self.states.items()
        ]

    def tasks(self, filters: dict[str, str]) -> list[dict[str, object]]:
        return []  # no runner anywhere: nothing to move


class _Table:
    def __init__(self) -> None:
        self.refreshes = 0

    def refresh(self, ctx: object, *, settle: bool = True) -> bool:
        assert not settle
        self.refreshes += 1
        return True


def test_the_table_is_refreshed_once_when_a_host_dies_and_unknown_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime(2026, 12, 6, 8, 0, 0)
    monkeypatch.setattr(host_watch, "utcnow", lambda: now)
    api = _Api({"a": "ready", "b": "ready"})
    table = _Table()
    ctx = SimpleNamespace(docker=SimpleNamespace(api=api), proxy_table=table)
    hosts = HostWatch(ctx, HostLeases(MemoryHuey().storage))  # type: ignore[arg-type]
    hosts.tick()
    assert (hosts.dead, table.refreshes) == (set(), 0)
    api.states["b"] = "down"
    hosts.tick()
    hosts.tick()
    assert (hosts.dead, table.refreshes) == ({"b"}, 1)
    assert hosts.down_since == {"b": now}
    # A restarted manager: a host unknown for a moment is not dead yet.
    api.states.update(a="unknown", b="ready")
    hosts.tick()
    assert (hosts.dead, table.refreshes) == (set(), 1)
    now += UNKNOWN_GRACE
    hosts.tick()
    assert (hosts.dead, table.refreshes) == ({"a"}, 2)


@dataclass
class _Services:
    scaled: list[tuple[str, int]] = field(default_factory=list)

    def get(self, service_id: str) -> SimpleNamespace:
        return SimpleNamespace(scale=lambda n: self.scaled.append((service_id, n)))


def _watch(sessions: sessionmaker[Session]) -> tuple[HostWatch, RecordedNotices, _Services, _Table]:
    notices, services, table = RecordedNotices(), _Services(), _Table()
    ctx = SimpleNamespace(
        settings=Settings(swarm=True),
        sessions=sessions,
        docker=SimpleNamespace(services=services),
        jobs=notices,
        proxy_table=table,
    )
    watch = HostWatch(ctx, HostLeases(MemoryHuey().storage))  # type: ignore[arg-type]
    return watch, notices, services, table


def _running(session: Session, project: Project, label: str) -> str:
    project.placement_label = label
    deployment_id = add_deployment(
        session, project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING
    )
    deployment = session.get(Deployment, deployment_id)
    assert deployment is not None
    deployment.container_id = f"svc-{deployment_id}"
    session.commit()
    return deployment_id


def test_a_deployment_no_other_host_may_take_is_marked_lost_once_and_notified(
    sessions: sessionmaker[Session], session: Session, project: Project
) -> None:
    deployment_id = _running(session, project, "zone=two")
    watch, notices, services, table = _watch(sessions)
    dead = _host("b", state="down", labels={"zone": "two"})
    watch.down_since["b"] = datetime(2026, 12, 6, 8, 51, 2)
    watch.move(deployment_id, dead, [dead, _host("a", labels={"zone": "one"})])
    lost = row_of(sessions, Deployment, deployment_id)
    assert lost.status is DeploymentStatus.FAILED
    assert lost.error == (
        "lost: host host-b went down at 2026-12-06 08:51:02 UTC; "
        "no other ready, active host has the label zone=two"
    )
    assert notices.sent == [(deployment_id, FAILED)]
    # Its task stays stopped when the host comes back; the table forgets it.
    assert services.scaled == [(f"svc-{deployment_id}", 0)]
    assert table.refreshes == 1
    # Once: another worker (or round) finds it no longer running.
    watch.mark_lost(deployment_id, "lost: again")
    assert row_of(sessions, Deployment, deployment_id).error == lost.error
    assert len(notices.sent) == 1


def test_a_deployment_whose_new_deployment_failed_is_lost_with_that_reason(
    sessions: sessionmaker[Session],
    session: Session,
    project: Project,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deployment_id = _running(session, project, "")
    failed = Move(deployment_id, "new1", DeploymentStatus.FAILED, "Build exited with code 3")
    monkeypatch.setattr(host_watch, "move_deployment", lambda ctx, old: failed)
    watch, notices, _, _ = _watch(sessions)
    dead = _host("b", state="down")
    watch.move(deployment_id, dead, [dead, _host("a")])
    error = row_of(sessions, Deployment, deployment_id).error
    assert error is not None
    assert error.endswith("; its new deployment new1 failed: Build exited with code 3")
    assert notices.sent == [(deployment_id, FAILED)]
    # A moved one is left to its new deployment's switch.
    other = _running(session, project, "")
    moved = Move(other, "new2", DeploymentStatus.RUNNING)
    monkeypatch.setattr(host_watch, "move_deployment", lambda ctx, old: moved)
    watch.move(other, dead, [dead, _host("a")])
    assert row_of(sessions, Deployment, other).status is DeploymentStatus.RUNNING
    assert len(notices.sent) == 1
