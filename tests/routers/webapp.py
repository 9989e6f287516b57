"""Fixtures and helpers for tests of the web app, the JSON API and the CLI.

The app is the real one (``create_app``) on a migrated database; deploys go to a
``MemoryHuey`` queue that records what was enqueued (no worker, no Docker).
Imported by the conftest files of tests/routers and tests/api, and by tests/test_cli.py.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from huey import MemoryHuey
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.crypto import fernet_for
from app.main import create_app
from app.models import Deployment, Project
from app.services.deployments import create_deployment
from app.services.projects import ProjectCreate, create_project
from app.services.teams import create_team
from app.services.tokens import create_token
from app.services.users import create_user
from app.workers.queue import DeployQueue

PASSWORD = "correct horse battery"
SECRET_KEY = "test-secret-key-for-the-web-tests"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def pending(queue: DeployQueue) -> list[tuple[str, tuple]]:
    return [(task.name, task.args) for task in queue.huey.pending()]


@pytest.fixture
def queue() -> DeployQueue:
    return DeployQueue(MemoryHuey(immediate=False))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        queue_url=f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        secret_key=SecretStr(SECRET_KEY),
    )


@pytest.fixture
def web_app(settings: Settings, engine: Engine, queue: DeployQueue) -> FastAPI:
    # ``engine`` migrated the database; the app opens its own engine in the lifespan.
    return create_app(settings, queue=queue)


@pytest.fixture
def client(web_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(web_app) as test_client:
        yield test_client


def project_input(name: str = "Hello", **overrides: object) -> ProjectCreate:
    values: dict[str, object] = {
        "name": name,
        "repo_url": "https://git.example.org/hello.git",
        "runner_image": "devpush/runner-python:local",
        "start_command": "python3 -m http.server $PORT",
        "env_vars": {"SECRET_TOKEN": "s3cr3t-value"},
    }
    values.update(overrides)
    return ProjectCreate.model_validate(values)


@dataclass(frozen=True)
class Member:
    """A user with a team, a project and one deployment of it."""

    email: str
    user_id: int
    team_id: str
    team_slug: str
    project_id: str
    project_slug: str
    deployment_id: str
    token: str


def make_member(
    sessions: sessionmaker[Session], queue: DeployQueue, *, email: str, team: str, project: str
) -> Member:
    with sessions() as session:
        user = create_user(session, email=email, password=PASSWORD)
        team_row = create_team(session, name=team, owner=user)
        proj = create_project(
            session, team=team_row, data=project_input(project), fernet=fernet_for(SECRET_KEY)
        )
        _, token = create_token(session, user=user, name="tests")
        session.commit()
        deployment = create_deployment(
            session, project=proj, branch=None, created_by=user, queue=queue
        )
        return Member(
            email=email,
            user_id=user.id,
            team_id=team_row.id,
            team_slug=team_row.slug,
            project_id=proj.id,
            project_slug=proj.slug,
            deployment_id=deployment.id,
            token=token,
        )


@dataclass(frozen=True)
class TwoTeams:
    alice: Member
    bob: Member


@pytest.fixture
def two_teams(sessions: sessionmaker[Session], queue: DeployQueue) -> TwoTeams:
    """Alice (team A) and Bob (team B); their projects share the slug ``shop``."""
    alice = make_member(sessions, queue, email="alice@example.org", team="Team A", project="Shop")
    bob = make_member(sessions, queue, email="bob@example.org", team="Team B", project="Shop")
    return TwoTeams(alice=alice, bob=bob)


def csrf_token(client: TestClient, path: str = "/login") -> str:
    match = _CSRF.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the new session's CSRF token."""
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_token(client, "/projects")


def deployment_of(sessions: sessionmaker[Session], deployment_id: str) -> Deployment:
    with sessions() as session:
        deployment = session.get(Deployment, deployment_id)
        assert deployment is not None
        return deployment


def project_row(sessions: sessionmaker[Session], project_id: str) -> Project:
    with sessions() as session:
        project = session.get(Project, project_id)
        assert project is not None
        return project


class LiveServer:
    """The app served by uvicorn on 127.0.0.1 in a thread (for the CLI and the browser)."""

    def __init__(self, app: FastAPI) -> None:
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)


@pytest.fixture
def live_url(web_app: FastAPI) -> Iterator[str]:
    with LiveServer(web_app) as url:
        yield url
