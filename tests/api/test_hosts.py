"""GET /api/v1/hosts: the swarm's nodes, for admins, in swarm mode only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush_dev.engines import Swarm
from tests.fixtures.web import TwoTeams, bearer, make_admin

HOST_FIELDS = {
    "id", "hostname", "address", "state", "availability", "role", "labels", "runners",
    "cpus", "memory_bytes",
}  # fmt: skip


def refusal(answer: Response, status: int) -> str:
    """The reason the API gives for refusing with ``status``."""
    assert answer.status_code == status, answer.text
    return str(answer.json()["detail"])


@pytest.fixture
def admin(two_teams: TwoTeams, sessions: sessionmaker[Session]) -> dict[str, str]:
    """Alice, made a server administrator: the headers of her API token."""
    make_admin(sessions, two_teams.alice.user_id)
    return bearer(two_teams.alice.token)


@pytest.mark.swarm
@pytest.mark.docker
def test_an_admin_lists_the_swarm_hosts(
    swarm_mode: Swarm, client: TestClient, admin: dict[str, str], two_teams: TwoTeams
) -> None:
    answer = client.get("/api/v1/hosts", headers=admin)

    assert answer.status_code == 200, answer.text
    hosts = answer.json()
    assert [set(h) for h in hosts] == [HOST_FIELDS] * 2
    assert [(h["id"], h["hostname"], h["address"], h["state"]) for h in hosts] == [
        (e.node_id, e.hostname, str(e.address), "ready") for e in swarm_mode.engines
    ]
    # Bob is no admin.
    refused = client.get("/api/v1/hosts", headers=bearer(two_teams.bob.token))
    assert refusal(refused, 403) == "only a server administrator can list hosts"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/api/v1/hosts", None), ("PATCH", "/api/v1/hosts/any", {"availability": "drain"})],
)
def test_swarm_mode_off_answers_404(
    client: TestClient, admin: dict[str, str], method: str, path: str, body: object
) -> None:
    answer = client.request(method, path, json=body, headers=admin)
    assert "DEVPUSH_SWARM=1" in refusal(answer, 404)


@pytest.mark.swarm
@pytest.mark.docker
def test_an_engine_that_is_no_manager_answers_503(
    settings: Settings,
    swarm: Swarm,
    client: TestClient,
    admin: dict[str, str],
) -> None:
    settings.swarm, settings.docker_host = True, swarm.engines[1].host
    answer = client.get("/api/v1/hosts", headers=admin)
    assert "not a swarm manager" in refusal(answer, 503)


@pytest.mark.swarm
@pytest.mark.docker
def test_an_admin_labels_drains_and_activates_a_host(
    swarm_mode: Swarm,
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
) -> None:
    node_1, node_2 = swarm_mode.engines
    alice = bearer(two_teams.alice.token)
    url = f"/api/v1/hosts/{node_2.hostname}"

    refused = client.patch(url, json={"availability": "drain"}, headers=alice)
    assert refusal(refused, 403) == "only a server administrator can change hosts"

    make_admin(sessions, two_teams.alice.user_id)
    answer = client.patch(url, json={"labels": {"zone": "eu", "disk": "ssd"}}, headers=alice)
    assert answer.status_code == 200, answer.text
    assert answer.json()["labels"] == {"zone": "eu", "disk": "ssd"}

    answer = client.patch(
        f"/api/v1/hosts/{node_2.node_id}",
        json={"labels": {"disk": None}, "availability": "drain"},
        headers=alice,
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["labels"], answer.json()["availability"]) == ({"zone": "eu"}, "drain")
    listed = client.get("/api/v1/hosts", headers=alice).json()
    assert {h["id"]: h["availability"] for h in listed}[node_2.node_id] == "drain"

    # Draining the other one too would leave no host for new runners.
    last = client.patch(
        f"/api/v1/hosts/{node_1.hostname}", json={"availability": "drain"}, headers=alice
    )
    assert "last active host" in refusal(last, 409)

    answer = client.patch(url, json={"availability": "active"}, headers=alice)
    assert answer.json()["availability"] == "active"


@pytest.mark.swarm
@pytest.mark.docker
@pytest.mark.parametrize(
    ("host", "body", "status", "detail"),
    [
        ("devpush-node-2", {"labels": {"bad key": "x"}}, 422, "label key"),
        ("devpush-node-2", {"labels": {"zone": ""}}, 422, "value of label 'zone'"),
        ("devpush-node-2", {"labels": {"never-set": None}}, 404, "has no label 'never-set'"),
        ("nowhere", {"availability": "drain"}, 404, "no host 'nowhere'"),
    ],
)
def test_bad_changes_are_4xx_with_the_reason(
    swarm_mode: Swarm,
    client: TestClient,
    admin: dict[str, str],
    host: str,
    body: dict[str, object],
    status: int,
    detail: str,
) -> None:
    answer = client.patch(f"/api/v1/hosts/{host}", json=body, headers=admin)
    assert detail in refusal(answer, status)


@pytest.mark.parametrize(
    "body",
    [{"availability": "gone"}, {"labels": ["zone=eu"]}, {"colour": "red"}],
)
def test_a_malformed_change_is_422(
    settings: Settings, client: TestClient, admin: dict[str, str], body: dict[str, object]
) -> None:
    settings.swarm = True
    answer = client.patch("/api/v1/hosts/any", json=body, headers=admin)
    assert answer.status_code == 422, answer.text
