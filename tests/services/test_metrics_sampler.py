"""The sampler's rounds against the real engine: busy, idle, gone and stopped runners."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import docker
import pytest
from docker.types import LogConfig
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import Deployment, DeploymentMetric, DeploymentStatus, Project, utcnow
from devpush.services.metrics import Sample, add_samples
from devpush.services.metrics_sampler import MetricsSampler
from devpush_dev.runners import Runners
from tests.fixtures.db import add_deployment

# SQLite and PostgreSQL: the round's writes and the retention's delete on both.
pytestmark = [pytest.mark.docker, pytest.mark.both_databases]

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
#: A CPU loop gets at least this on a loaded 2-core machine; a sleeping runner far less.
BUSY_CORES = 0.05
BUSY = ["sh", "-c", "while :; do :; done"]
IDLE = ["sleep", "600"]


@dataclass
class Bench:
    """The engine, its runners (removed afterwards) and the project whose deployments run them."""

    docker_client: docker.DockerClient
    runners: Runners
    sessions: sessionmaker[Session]
    session: Session
    project: Project

    def run(self, command: list[str], *, wait: float | None = None) -> str:
        """A runner of ``command``: its container id."""
        logs = LogConfig(type="json-file")
        return self.runners.run(command, labels={}, log_config=logs, wait=wait).id

    def running_deployment(self, container_id: str) -> str:
        deployment_id = add_deployment(
            self.session, self.project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING
        )
        row = self.session.get(Deployment, deployment_id)
        assert row is not None
        row.container_id = container_id
        self.session.commit()
        return deployment_id

    def sampler(
        self, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> MetricsSampler:
        return MetricsSampler(
            settings=settings, sessions=self.sessions, client=self.docker_client, clock=clock
        )


@pytest.fixture
def bench(
    docker_client: docker.DockerClient,
    sessions: sessionmaker[Session],
    session: Session,
    project: Project,
) -> Iterator[Bench]:
    runners = Runners(docker_client)
    try:
        yield Bench(docker_client, runners, sessions, session, project)
    finally:
        runners.remove_all()


def samples_of(sessions: sessionmaker[Session], deployment_id: str) -> list[DeploymentMetric]:
    with sessions() as session:
        return list(
            session.scalars(
                select(DeploymentMetric)
                .where(DeploymentMetric.deployment_id == deployment_id)
                .order_by(DeploymentMetric.at)
            )
        )


def test_rounds_store_cpu_memory_and_network_and_apply_the_retention(bench: Bench) -> None:
    session, sessions = bench.session, bench.sessions
    busy_id = bench.running_deployment(bench.run(BUSY))
    idle_id = bench.running_deployment(bench.run(IDLE))
    exited_id = bench.running_deployment(bench.run(["true"], wait=60))
    gone_id = bench.running_deployment("0" * 64)
    stopped_id = add_deployment(
        session, bench.project, DeploymentStatus.BUILDING, DeploymentStatus.FAILED
    )
    # A sample from before the retention, and one inside it.
    add_samples(
        session,
        [
            (idle_id, Sample(NOW - timedelta(hours=2), 0.1, 1, 0, 0)),
            (idle_id, Sample(NOW - timedelta(minutes=30), 0.1, 1, 0, 0)),
        ],
    )
    session.commit()
    clock = iter([NOW, NOW + timedelta(seconds=15)])
    sampler = bench.sampler(Settings(metrics_retention_seconds=3600), clock=lambda: next(clock))
    assert sampler.one_shot  # the provisioned engine speaks API 1.41+
    try:
        first = sampler.tick()
        time.sleep(1.5)  # real CPU time passes between the readings
        second = sampler.tick()
    finally:
        sampler.close()

    # The exited and the gone runner are asked and skipped; the failed deployment is not asked.
    assert (first.asked, first.stored, first.deleted) == (4, 2, 1)
    assert (second.asked, second.stored, second.deleted) == (4, 2, 0)
    assert samples_of(sessions, exited_id) == samples_of(sessions, gone_id) == []
    assert samples_of(sessions, stopped_id) == []

    busy_samples = samples_of(sessions, busy_id)
    assert len(busy_samples) == 2
    # One-shot answers: the first round has no earlier reading, the second compares with it.
    assert busy_samples[0].cpu is None
    assert busy_samples[1].cpu is not None and busy_samples[1].cpu > BUSY_CORES
    assert all(s.memory_bytes > 0 for s in busy_samples)
    assert [s.at.replace(tzinfo=UTC) for s in busy_samples] == [NOW, NOW + timedelta(seconds=15)]

    idle_samples = samples_of(sessions, idle_id)
    assert len(idle_samples) == 3  # the one inside the retention, and two new ones
    assert idle_samples[-1].cpu is not None and idle_samples[-1].cpu < BUSY_CORES


def test_a_sample_of_a_deleted_deployment_does_not_cost_the_others_theirs(bench: Bench) -> None:
    sessions = bench.sessions
    idle = bench.run(IDLE)
    kept = bench.running_deployment(idle)
    deleted = bench.running_deployment(idle)
    sampler = bench.sampler(Settings())
    # The deployment goes between the round's list and its insert.
    listed = sampler.running_runners

    def list_then_delete(inner: Session) -> list[tuple[str, str]]:
        found = listed(inner)
        with sessions() as other:
            row = other.get(Deployment, deleted)
            assert row is not None
            other.delete(row)
            other.commit()
        return found

    sampler.running_runners = list_then_delete  # type: ignore[method-assign]
    try:
        result = sampler.tick()
    finally:
        sampler.close()
    assert (result.asked, result.stored) == (2, 1)
    assert len(samples_of(sessions, kept)) == 1


def test_an_engine_without_one_shot_gives_cpu_in_the_first_round(bench: Bench) -> None:
    deployment_id = bench.running_deployment(bench.run(BUSY))
    sampler = bench.sampler(Settings())
    sampler.one_shot = False  # as before API 1.41: the answer carries its earlier reading
    try:
        assert sampler.tick().stored == 1
    finally:
        sampler.close()
    (only,) = samples_of(bench.sessions, deployment_id)
    assert only.cpu is not None and only.cpu > BUSY_CORES
