"""The worker's drains thread: started as ``python -m devpush.workers`` starts it, it
delivers a drain's lines from the real store to a real receiver, picks up a drain added
while it runs, and stops when told.

The loop's behaviour (filters, outages, each kind's receiver) is tested in
tests/services/drains/.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import docker
import pytest
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.core.crypto import fernet_for
from devpush.models import DrainKind
from devpush.services.drains.configure import DrainCreate, create_drain
from devpush.services.environments import ensure_production_environment
from devpush.workers.drains import start_drains
from devpush.workers.tasks.context import WorkerContext
from tests.fixtures.db import hello_project
from tests.utils.drains import Store, line, start_store, stopping, wait_for
from tests.utils.notify import HttpReceiver


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from stopping(lambda: start_store(tmp_path / "vl"), lambda s: s.vl.child.stop())


def test_the_thread_delivers_a_drain_added_while_it_runs_and_stops(
    session: Session,
    sessions: sessionmaker[Session],
    db_url: str,
    store: Store,
    receiver: HttpReceiver,
) -> None:
    settings = Settings(
        database_url=db_url,
        log_store="victorialogs",
        log_store_url=store.url,
        log_tail_delay_seconds=1.0,
    )
    # The drains' thread uses no Docker client.
    ctx = WorkerContext(
        settings=settings, sessions=sessions, docker=cast(docker.DockerClient, None)
    )
    project = hello_project()
    session.add(project)
    ensure_production_environment(session, project=project)
    session.commit()
    stop = start_drains(ctx)
    try:
        fernet = fernet_for(settings.secret_key.get_secret_value())
        create_drain(
            session,
            project=project,
            data=DrainCreate(kind=DrainKind.HTTPS, url=f"{receiver.url}/w"),
            fernet=fernet,
        )
        store.insert([line("from the worker", project_id=project.id)])
        request = wait_for("the line", lambda: receiver.on("/w"), timeout=30)[0]
        assert json.loads(request.body)["message"] == "from the worker"
    finally:
        stop.set()
    wait_for(
        "the thread to stop",
        lambda: not any(t.name == "log-drains" for t in threading.enumerate()),
        timeout=15,
    )
