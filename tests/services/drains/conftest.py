"""The drains' tests: a VictoriaLogs store per module, real receivers per test, and a
runner of the worker's drain loops (``drains_running``) inside the test."""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.core.crypto import fernet_for
from devpush.models import LogDrain, Project, Team
from devpush.services.drains.configure import DrainCreate, create_drain
from devpush.services.drains.delivery import DrainPump, DrainTiming, run_fleet
from devpush.services.environments import ensure_production_environment
from devpush.services.log_store import log_store, open_http_client
from tests.fixtures.db import hello_project, row_of
from tests.utils.drains import (
    OtlpReceiver,
    Rsyslog,
    Store,
    start_otlp_receiver,
    start_rsyslog,
    start_store,
    stopping,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("drain-store")
    yield from stopping(lambda: start_store(root), lambda s: s.vl.child.stop())


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    yield from stopping(lambda: start_rsyslog(tmp_path / "rsyslog"), Rsyslog.stop)


@pytest.fixture
def otlp(tmp_path: Path) -> Iterator[OtlpReceiver]:
    yield from stopping(lambda: start_otlp_receiver(tmp_path / "otlp"), OtlpReceiver.stop)


def drain_settings(db_url: str, store: Store) -> Settings:
    """The worker's settings against ``db_url`` and the test store."""
    return Settings(
        database_url=db_url,
        log_store="victorialogs",
        log_store_url=store.url,
        log_tail_delay_seconds=1.0,
        notification_timeout_seconds=5.0,
    )


@pytest.fixture
def settings(db_url: str, store: Store) -> Settings:
    return drain_settings(db_url, store)


@pytest.fixture
def fernet(settings: Settings) -> Fernet:
    return fernet_for(settings.secret_key.get_secret_value())


@dataclass
class Projects:
    """Two projects in two teams, each with its production environment."""

    mine: Project
    mine_production: str
    other: Project
    other_production: str


def add_projects(session: Session) -> Projects:
    mine = hello_project()
    other = hello_project("Shop", team=Team(name="Other", slug="other"))
    session.add_all([mine, other])
    session.flush()
    mine_env = ensure_production_environment(session, project=mine)
    other_env = ensure_production_environment(session, project=other)
    session.commit()
    return Projects(mine, mine_env.id, other, other_env.id)


@pytest.fixture
def projects(session: Session) -> Projects:
    return add_projects(session)


RunDrains = Callable[..., AbstractContextManager[None]]


@contextmanager
def drains_running(
    sessions: sessionmaker[Session],
    settings: Settings,
    fernet: Fernet,
    *,
    timing: DrainTiming | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[None]:
    """Every drain's loop, run as the worker runs them (a thread with its own event loop)
    for the ``with`` block; an error of the loop fails the test at the block's end."""
    stopped = threading.Event()
    errors: list[BaseException] = []

    async def main() -> None:
        async with open_http_client(settings) as store_http, httpx.AsyncClient() as http:
            pump = DrainPump(
                sessions=sessions,
                store=log_store(settings, store_http),
                http=http,
                fernet=fernet,
                settings=settings,
                timing=timing or DrainTiming(poll_seconds=0.3),
                tls=tls,
            )
            stop = asyncio.Event()
            fleet = asyncio.create_task(run_fleet(pump, stop=stop))
            await asyncio.to_thread(stopped.wait)
            stop.set()
            await fleet

    def thread() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    runner = threading.Thread(target=thread, name="drains-under-test", daemon=True)
    runner.start()
    try:
        yield
    finally:
        stopped.set()
        runner.join(timeout=30)
    assert not runner.is_alive(), "the drains' loop did not stop"
    if errors:
        raise errors[0]


@pytest.fixture
def run_drains(sessions: sessionmaker[Session], settings: Settings, fernet: Fernet) -> RunDrains:
    """:func:`drains_running` on this test's database."""
    return functools.partial(drains_running, sessions, settings, fernet)


@dataclass
class DrainRig:
    """What a delivery test works with: its database, two projects, the store and the
    drains' loops."""

    session: Session
    sessions: sessionmaker[Session]
    projects: Projects
    store: Store
    fernet: Fernet
    run: RunDrains

    def add(self, project: Project | None = None, **data: Any) -> tuple[LogDrain, str]:
        """A drain of ``project`` (mine by default) made from ``data``; it and its secret."""
        return create_drain(
            self.session,
            project=project or self.projects.mine,
            data=DrainCreate(**data),
            fernet=self.fernet,
        )

    def row(self, drain_id: str) -> LogDrain:
        """The drain's row as stored now (its status fields included)."""
        return row_of(self.sessions, LogDrain, drain_id)


@pytest.fixture
def rig(
    session: Session,
    sessions: sessionmaker[Session],
    projects: Projects,
    store: Store,
    fernet: Fernet,
    run_drains: RunDrains,
) -> DrainRig:
    return DrainRig(session, sessions, projects, store, fernet, run_drains)
