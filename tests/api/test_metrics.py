"""GET /api/v1/deployments/<id>/metrics: a range of samples, scoped to the caller's teams."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import DeploymentStatus
from tests.api.samples import sampled
from tests.fixtures.web import Member, TwoTeams, bearer, move


def test_the_samples_of_a_range_oldest_first(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    move(sessions, alice.deployment_id, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)
    sampled(
        sessions,
        alice.deployment_id,
        timedelta(minutes=20),
        timedelta(minutes=10),
        timedelta(seconds=30),
    )
    url = f"/api/v1/deployments/{alice.deployment_id}/metrics"

    answer = client.get(url, params={"range": "15m"}, headers=bearer(alice.token))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["deployment_id"] == alice.deployment_id
    assert (body["status"], body["range"]) == ("running", "15m")
    assert (body["interval_seconds"], body["step_seconds"]) == (15.0, 15.0)
    samples = body["samples"]
    assert [set(s) for s in samples] == [{"at", "cpu", "memory_bytes", "rx_bytes", "tx_bytes"}] * 2
    assert [(s["cpu"], s["memory_bytes"], s["rx_bytes"], s["tx_bytes"]) for s in samples] == [
        (pytest.approx(0.2), 2000, 200, 20),
        (pytest.approx(0.3), 3000, 300, 30),
    ]
    # The default range is an hour: the three samples.
    default = client.get(url, headers=bearer(alice.token)).json()
    assert (default["range"], len(default["samples"])) == ("1h", 3)


def test_another_teams_token_gets_404(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    sampled(sessions, alice.deployment_id, timedelta(minutes=1))
    answer = client.get(
        f"/api/v1/deployments/{alice.deployment_id}/metrics", headers=bearer(bob.token)
    )
    assert answer.status_code == 404, answer.text
    assert "0.1" not in answer.text
    assert client.get(f"/api/v1/deployments/{alice.deployment_id}/metrics").status_code == 401


@pytest.mark.parametrize("value", ["2h", "1d", "all"])
def test_an_unknown_range_is_a_422_naming_the_choices(
    client: TestClient, alice: Member, value: str
) -> None:
    answer = client.get(
        f"/api/v1/deployments/{alice.deployment_id}/metrics",
        params={"range": value},
        headers=bearer(alice.token),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == f"range must be one of 15m, 1h, 6h, 24h, not {value!r}"


def test_a_deployment_without_samples_answers_none(client: TestClient, alice: Member) -> None:
    answer = client.get(
        f"/api/v1/deployments/{alice.deployment_id}/metrics", headers=bearer(alice.token)
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["samples"]) == ("queued", [])
