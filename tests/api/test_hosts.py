"""GET /api/v1/hosts: the swarm's nodes, for admins, in swarm mode only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush_dev.engines import Swarm
from tests.fixtures.web import TwoTeams, bearer, make_admin

HOST_FIELDS = {
    "id", "hostname", "address", "state", "availability", "role", "labels", "runners",
    "cpus", "memory_bytes",
}  # fmt: skip


@pytest.mark.swarm
@pytest.mark.docker
def test_an_admin_lists_the_swarm_hosts(
    swarm_mode: Swarm, client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    make_admin(sessions, two_teams.alice.user_id)

    answer = client.get("/api/v1/hosts", headers=bearer(two_teams.alice.token))

    assert answer.status_code == 200, answer.text
    hosts = answer.json()
    assert [set(h) for h in hosts] == [HOST_FIELDS] * 2
    assert [(h["id"], h["hostname"], h["address"], h["state"]) for h in hosts] == [
        (e.node_id, e.hostname, str(e.address), "ready") for e in swarm_mode.engines
    ]
    # Bob is no admin.
    refused = client.get("/api/v1/hosts", headers=bearer(two_teams.bob.token))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "only a server administrator can list hosts"


def test_swarm_mode_off_answers_404(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    make_admin(sessions, two_teams.alice.user_id)
    answer = client.get("/api/v1/hosts", headers=bearer(two_teams.alice.token))
    assert answer.status_code == 404
    assert "DEVPUSH_SWARM=1" in answer.json()["detail"]


@pytest.mark.swarm
@pytest.mark.docker
def test_an_engine_that_is_no_manager_answers_503(
    settings: Settings,
    swarm: Swarm,
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
) -> None:
    settings.swarm, settings.docker_host = True, swarm.engines[1].host
    make_admin(sessions, two_teams.alice.user_id)
    answer = client.get("/api/v1/hosts", headers=bearer(two_teams.alice.token))
    assert answer.status_code == 503
    assert "not a swarm manager" in answer.json()["detail"]
