"""The health check and the runner's limits over the API: ``PATCH /api/v1/projects/<ref>``
sets them (a null resets one), refuses bad ones and limits above the server's maximums with
a 422 saying why, and a deployment shows its ``health``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import Deployment, DeploymentStatus, HealthStatus
from tests.api.projects import changed, shown
from tests.fixtures.web import Member, TwoTeams, bearer, project_row, refused_field

pytestmark = pytest.mark.both_databases


DEFAULT_CHECK = {
    "path": "/",
    "expect_status": "100-599",
    "grace_seconds": None,
    "interval_seconds": None,
    "failure_threshold": 3,
}


def test_an_owner_sets_the_check_and_the_limits(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    before = shown(client, alice)
    assert before["health_check"] == DEFAULT_CHECK  # any answer to /, as before
    assert (before["memory_mb"], before["cpus"]) == (None, None)

    check = {
        "path": "/healthz",
        "expect_status": "200-399",
        "grace_seconds": 30,
        "interval_seconds": 10,
        "failure_threshold": 2,
    }
    body = changed(client, alice, {"health_check": check, "memory_mb": 256, "cpus": 0.5})
    assert body["health_check"] == check
    assert (body["memory_mb"], body["cpus"]) == (256, 0.5)
    project = project_row(sessions, alice.project_id)
    assert (project.health_path, project.memory_mb, project.cpus) == ("/healthz", 256, 0.5)

    # A partial change keeps the rest; a null resets a field (the interval: checks off).
    body = changed(client, alice, {"health_check": {"interval_seconds": None}, "cpus": None})
    assert body["health_check"] == {**check, "interval_seconds": None}
    assert (body["memory_mb"], body["cpus"]) == (256, None)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"health_check": {"path": "healthz"}}, "path"),
        ({"health_check": {"expect_status": "2xx"}}, "expect_status"),
        ({"health_check": {"failure_threshold": 0}}, "failure_threshold"),
        ({"health_check": {"timeout": 3}}, "timeout"),
        ({"memory_mb": "lots"}, "memory_mb"),
        ({"cpus": "nan"}, "cpus"),
    ],
)
def test_a_bad_check_is_a_422_naming_the_field(
    client: TestClient, two_teams: TwoTeams, body: dict[str, object], where: str
) -> None:
    assert refused_field(client, two_teams.alice, body) == where


def test_limits_above_the_servers_maximums_are_refused_with_the_maximum(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    url = f"/api/v1/projects/{alice.project_slug}"
    too_much = client.patch(
        url, json={"memory_mb": 1_000_000, "name": "Renamed"}, headers=bearer(alice.token)
    )
    assert too_much.status_code == 422, too_much.text
    assert too_much.json()["detail"] == (
        "memory_mb: 1000000 MB is more than this server allows (at most 4096 MB)"
    )
    cpus = client.patch(url, json={"cpus": 64}, headers=bearer(alice.token))
    assert cpus.status_code == 422
    assert cpus.json()["detail"] == "cpus: 64 is more than this server allows (at most 4)"
    project = project_row(sessions, alice.project_id)
    assert (project.name, project.memory_mb, project.cpus) == ("Shop", None, None)


def test_a_member_may_not_change_the_check(
    client: TestClient, two_teams: TwoTeams, carol_token: str
) -> None:
    response = client.patch(
        f"/api/v1/projects/{two_teams.alice.project_slug}",
        json={"health_check": {"path": "/healthz"}},
        headers=bearer(carol_token),
    )
    assert response.status_code == 403
    other = client.patch(
        f"/api/v1/projects/{two_teams.bob.project_id}",
        json={"memory_mb": 64},
        headers=bearer(two_teams.alice.token),
    )
    assert other.status_code == 404


def test_a_deployment_shows_its_health(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    url = f"/api/v1/deployments/{alice.deployment_id}"
    assert client.get(url, headers=bearer(alice.token)).json()["health"] == {
        "status": "unknown",
        "last_check_at": None,
        "last_error": None,
        "restarts": 0,
    }
    checked = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    with sessions() as session:
        deployment = session.get(Deployment, alice.deployment_id)
        assert deployment is not None
        deployment.status = DeploymentStatus.RUNNING
        deployment.health_status = HealthStatus.UNHEALTHY
        deployment.health_checked_at = checked
        deployment.health_error = "GET /healthz (expects 200-399): status 500: boom"
        deployment.health_restarts = 2
        session.commit()
    health = client.get(url, headers=bearer(alice.token)).json()["health"]
    assert health["status"] == "unhealthy"
    # SQLite keeps no zone: the same instant, with or without its +00:00.
    assert health["last_check_at"].startswith("2026-12-06T03:00:00")
    assert health["last_error"] == "GET /healthz (expects 200-399): status 500: boom"
    assert health["restarts"] == 2
