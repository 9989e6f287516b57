"""A VictoriaLogs of its own for the query-language tests, and lines written straight in.

Request entries are written as the shared contract stores them (``source=request`` and
the ``request.*`` fields of ``devpush.core.labels.REQUEST_FIELDS``), through the store's
``/insert/jsonline``, so these tests need no proxy or collector. Import the fixture
into a test module to use it (it is session-scoped: one store for every module).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.labels import (
    BRANCH_LABEL,
    DEPLOYMENT_LABEL,
    ENVIRONMENT_LABEL,
    PROJECT_LABEL,
    REQUEST_FIELDS,
    REQUEST_SOURCE,
    SOURCE_LABEL,
    STREAM_LABEL,
)
from devpush_dev.ports import free_port
from devpush_dev.victorialogs import VictoriaLogs, start_victorialogs
from tests.fixtures.web import Member, TwoTeams, only_environment_id

STREAM_FIELDS = ",".join(
    [PROJECT_LABEL, ENVIRONMENT_LABEL, BRANCH_LABEL, DEPLOYMENT_LABEL, STREAM_LABEL, SOURCE_LABEL]
)


@dataclass(frozen=True)
class Scope:
    project_id: str
    environment_id: str
    branch: str
    deployment_id: str

    def labels(self) -> dict[str, str]:
        return {
            PROJECT_LABEL: self.project_id,
            ENVIRONMENT_LABEL: self.environment_id,
            BRANCH_LABEL: self.branch,
            DEPLOYMENT_LABEL: self.deployment_id,
        }


@dataclass
class RequestStore:
    """One running VictoriaLogs and the writes the tests make into it."""

    server: VictoriaLogs

    @property
    def url(self) -> str:
        return self.server.url

    def write(self, rows: list[dict[str, str]]) -> None:
        body = "\n".join(json.dumps(row) for row in rows)
        response = httpx.post(
            f"{self.url}/insert/jsonline",
            params={"_stream_fields": STREAM_FIELDS},
            content=body.encode(),
            headers={"Content-Type": "application/stream+json"},
        )
        response.raise_for_status()
        httpx.get(f"{self.url}/internal/force_flush").raise_for_status()

    def line(
        self, scope: Scope, message: str, *, stream: str = "stdout", ns: int = 0
    ) -> dict[str, str]:
        return {
            "_time": str(ns or time.time_ns()),
            "_msg": message,
            STREAM_LABEL: stream,
            **scope.labels(),
        }

    def request(
        self, scope: Scope, *, method: str, path: str, status: int, duration_ms: float, ns: int = 0
    ) -> dict[str, str]:
        values: Mapping[str, str] = {
            "method": method,
            "host": "app.example.test",
            "path": path,
            "status": str(status),
            "duration_ms": f"{duration_ms:g}",
            "bytes": "12",
            "client": "203.0.113.7",
            "user_agent": "curl/8.0",
        }
        return {
            "_time": str(ns or time.time_ns()),
            "_msg": f"{method} {path} {status} {duration_ms:g}ms",
            SOURCE_LABEL: REQUEST_SOURCE,
            **scope.labels(),
            **{REQUEST_FIELDS[key]: value for key, value in values.items()},
        }


@pytest.fixture(scope="session")
def request_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RequestStore]:
    root: Path = tmp_path_factory.mktemp("qlang-victorialogs")
    server = start_victorialogs(data_dir=root, http_port=free_port())
    try:
        yield RequestStore(server)
    finally:
        server.child.stop()


@pytest.fixture
def log_store_url(request_store: RequestStore) -> str:
    """The app's log store is this VictoriaLogs (import it beside ``request_store``)."""
    return request_store.url


def member_scope(sessions: sessionmaker[Session], member: Member) -> Scope:
    """The labels of the member's deployment (its project's only environment, ``main``)."""
    environment = only_environment_id(sessions, member.project_id)
    return Scope(member.project_id, environment, "main", member.deployment_id)


#: A member's rows: ``rows_of(store, scope, who)``, ``who`` the name in their e-mail address.
RowsOf = Callable[[RequestStore, Scope, str], list[dict[str, str]]]


def write_for_members(
    store: RequestStore, two_teams: TwoTeams, sessions: sessionmaker[Session], rows_of: RowsOf
) -> TwoTeams:
    """Alice's and Bob's rows, written at once."""
    rows = []
    for member in (two_teams.alice, two_teams.bob):
        rows += rows_of(store, member_scope(sessions, member), member.email.split("@")[0])
    store.write(rows)
    return two_teams


def written_for_members(rows_of: RowsOf) -> Callable[..., TwoTeams]:
    """A fixture that writes ``rows_of``'s rows for Alice and Bob and gives the two teams:
    a test module's ``written = written_for_members(rows_of)``, beside ``request_store``."""

    @pytest.fixture
    def written(
        request_store: RequestStore, two_teams: TwoTeams, sessions: sessionmaker[Session]
    ) -> TwoTeams:
        return write_for_members(request_store, two_teams, sessions, rows_of)

    return written
