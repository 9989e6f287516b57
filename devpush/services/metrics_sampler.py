"""One round of the metrics sampler: every running deployment's runner, read from the engine.

The worker runs :meth:`MetricsSampler.tick` every ``metrics_interval_seconds``
(``devpush/workers/metrics_thread.py``). A round lists the running deployments in the
database (not the engine's containers: a runner of another server's database on the same
engine is none of its business), asks the engine for each runner's stats through the
worker's door of the socket proxy (``GET /containers/<id>/stats`` is a read under
``CONTAINERS``), :data:`POOL_SIZE` at a time, stores one sample per runner, and
deletes the samples older than ``metrics_retention_seconds``.

The engine's one-shot answer (API 1.41+) comes at its next collection (within a second)
but without an earlier CPU reading; the sampler keeps each runner's reading for the
next round, so a runner's first sample has no CPU figure. An older engine gets plain
answers, which carry their own earlier reading but wait for two of the engine's
collections (about 2 s each).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import docker
from docker.utils import version_gte
from requests.adapters import HTTPAdapter
from requests.exceptions import Timeout
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import Deployment, DeploymentStatus, utcnow
from devpush.services.metrics import Sample, add_samples, delete_before
from devpush.services.runner_stats import CpuReading, runner_figures

log = logging.getLogger(__name__)

#: Stats calls in flight at once. The engine answers a one-shot call at its next stats
#: collection (once a second, every container with a caller in one pass), so a round
#: takes about runners / POOL_SIZE seconds: 100 runners ~4.5 s, well inside the 15 s
#: interval. The calls wait rather than work; the engine's cost is per runner, not per
#: call in flight (docs/metrics.md).
POOL_SIZE: Final = 32
#: A stats call that takes longer is given up (the runner is skipped this round).
TIMEOUT_SECONDS: Final = 10
#: The engine API version that answers ``one-shot=true``.
ONE_SHOT_API: Final = "1.41"


def sampler_client(settings: Settings, *, pool_size: int = POOL_SIZE) -> docker.DockerClient:
    """A Docker client of its own for the sampler, with a connection for each call in flight
    (the worker's client keeps 10, and would open and drop the others each round)."""
    client = docker.DockerClient(
        base_url=settings.docker_host, timeout=TIMEOUT_SECONDS, max_pool_size=pool_size
    )
    if client.api.base_url.startswith("http://"):  # the socket proxy's door (tcp://)
        client.api.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=pool_size))
    return client


@dataclass(frozen=True, slots=True)
class RoundResult:
    """What a round did: runners asked, samples stored, old samples deleted."""

    asked: int
    stored: int
    deleted: int


class MetricsSampler:
    """Holds the engine client, the pool and each runner's last CPU reading between rounds."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        client: docker.DockerClient,
        pool_size: int = POOL_SIZE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.client = client
        self.clock = clock
        self.one_shot = version_gte(client.api.api_version, ONE_SHOT_API)
        self._pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="metrics")
        self._readings: dict[str, CpuReading] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def running_runners(self, session: Session) -> list[tuple[str, str]]:
        """(deployment id, container id) of every running deployment."""
        rows = session.execute(
            select(Deployment.id, Deployment.container_id).where(
                Deployment.status == DeploymentStatus.RUNNING,
                Deployment.container_id.is_not(None),
            )
        ).all()
        return [(deployment_id, container_id or "") for deployment_id, container_id in rows]

    def stats(self, container_id: str) -> dict[str, Any] | None:
        """The engine's stats of one runner; None when it is gone or cannot answer."""
        try:
            if self.one_shot:
                answer = self.client.api.stats(container_id, stream=False, one_shot=True)
            else:
                answer = self.client.api.stats(container_id, stream=False)
        except docker.errors.NotFound:
            return None
        except (docker.errors.APIError, Timeout) as exc:
            log.warning("no stats for container %s: %s", container_id[:12], exc)
            return None
        # Any other failure (the engine or the proxy unreachable) fails the round, once.
        return answer if isinstance(answer, dict) else None

    def tick(self) -> RoundResult:
        """One round: sample every running runner, then apply the retention."""
        now = self.clock()
        with self.sessions() as session:
            runners = self.running_runners(session)
        answers = list(self._pool.map(self.stats, [container for _, container in runners]))
        samples: list[tuple[str, Sample]] = []
        readings: dict[str, CpuReading] = {}
        for (deployment_id, container_id), answer in zip(runners, answers, strict=True):
            if answer is None:
                continue
            figures = runner_figures(answer, self._readings.get(container_id))
            if figures.reading is None:  # not running (exited, not started): no figures
                continue
            readings[container_id] = figures.reading
            samples.append((deployment_id, Sample.of(figures, at=now)))
        # Runners that stopped are forgotten: their ids never come back.
        self._readings = readings
        cutoff = now - timedelta(seconds=self.settings.metrics_retention_seconds)
        with self.sessions() as session:
            stored = self._store(session, samples)
            deleted = delete_before(session, cutoff)
            session.commit()
        return RoundResult(asked=len(runners), stored=stored, deleted=deleted)

    def _store(self, session: Session, samples: list[tuple[str, Sample]]) -> int:
        try:
            stored = add_samples(session, samples)
            session.flush()
        except IntegrityError:
            # A deployment deleted during the round: the others' samples still count.
            session.rollback()
            ids = {deployment_id for deployment_id, _ in samples}
            kept = set(session.scalars(select(Deployment.id).where(Deployment.id.in_(ids))))
            stored = add_samples(session, [pair for pair in samples if pair[0] in kept])
        return stored
