"""The settings page's replicas (Environments section): an owner saves a count in swarm
mode; more than one on a single server comes back with why."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import Environment
from tests.fixtures.web import Member


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def replicas_of(sessions: sessionmaker[Session], project_id: str) -> int:
    with sessions() as session:
        environment = session.scalars(
            select(Environment).where(Environment.project_id == project_id)
        ).one()
        return environment.replicas


def test_an_owner_sets_replicas_in_swarm_mode_only(
    client: TestClient,
    alice: Member,
    csrf: str,
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    page = client.get(f"/projects/{alice.project_slug}/settings")
    assert 'aria-label="replicas of production"' in page.text
    path = f"/projects/{alice.project_slug}/environments/production/replicas"

    refused = client.post(path, data={"replicas": "2", "csrf_token": csrf})
    assert refused.status_code == 422
    assert "replicas need swarm mode" in refused.text
    assert replicas_of(sessions, alice.project_id) == 1

    settings.swarm = True
    saved = client.post(path, data={"replicas": "2", "csrf_token": csrf}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert replicas_of(sessions, alice.project_id) == 2
    page = client.get(f"/projects/{alice.project_slug}/settings")
    assert 'min="1" max="10" value="2" aria-label="replicas of production"' in page.text
    too_many = client.post(path, data={"replicas": "11", "csrf_token": csrf})
    assert too_many.status_code == 422
    assert "between 1 and 10" in too_many.text
