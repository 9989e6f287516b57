"""What a job needs from its process: settings, database sessions, a Docker client."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import docker
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings, get_settings
from devpush.core.db import create_db_engine, session_factory
from devpush.services.jobs import NotifyJobs
from devpush.services.runner import docker_client


@dataclass(frozen=True, slots=True)
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    docker: docker.DockerClient
    # Where a job enqueues the notify job (the queue it runs on); None: no notifications.
    jobs: NotifyJobs | None = None

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
