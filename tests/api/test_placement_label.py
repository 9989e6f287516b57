"""The project's placement label (swarm mode) over the API: ``PATCH /api/v1/projects/<ref>``
sets it as ``key=value``, "" clears it (spread), and anything else is a 422."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.projects import changed, shown
from tests.fixtures.web import Member, TwoTeams, bearer, project_row


def test_an_owner_sets_and_clears_the_placement_label(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    assert shown(client, alice)["placement_label"] == ""
    assert changed(client, alice, {"placement_label": "zone = eu"})["placement_label"] == "zone=eu"
    assert project_row(sessions, alice.project_id).placement_label == "zone=eu"
    # Another change keeps it; "" clears it.
    assert changed(client, alice, {"port": 8001})["placement_label"] == "zone=eu"
    assert project_row(sessions, alice.project_id).placement_label == "zone=eu"
    assert changed(client, alice, {"placement_label": ""})["placement_label"] == ""


def test_a_label_without_a_value_is_a_422(client: TestClient, two_teams: TwoTeams) -> None:
    alice = two_teams.alice
    response = client.patch(
        f"/api/v1/projects/{alice.project_slug}",
        json={"placement_label": "eu"},
        headers=bearer(alice.token),
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == "placement_label"
    assert "key=value" in response.text
