"""What a job needs from its process: settings, database sessions, a Docker client, and
the process's one writer of the proxy table."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import docker
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings, get_settings
from devpush.core.db import create_db_engine, session_factory
from devpush.services.cluster.source_server import SourceHandout
from devpush.services.jobs import NotifyJobs
from devpush.services.runner import docker_client
from devpush.workers.tasks.proxy_writer import ProxyTableWriter


@dataclass(frozen=True, slots=True)
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    docker: docker.DockerClient
    # Where a job enqueues the notify job (the queue it runs on); None: no notifications.
    jobs: NotifyJobs | None = None
    # Shared by every job of the process (dataclasses.replace keeps it): its lock and the
    # switches under way hold for all of them.
    proxy_table: ProxyTableWriter = field(default_factory=ProxyTableWriter, compare=False)
    # Swarm mode: the process's one source server, which runner tasks fetch their source from.
    sources: SourceHandout = field(default_factory=SourceHandout, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerContext:
        return cls(
            settings=settings,
            sessions=session_factory(create_db_engine(settings.database_url)),
            docker=docker_client(settings),
        )


@lru_cache
def worker_context() -> WorkerContext:
    """One context per worker process, built on the first job."""
    return WorkerContext.from_settings(get_settings())
