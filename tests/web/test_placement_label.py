"""The settings page's host label (swarm mode): an owner saves ``key=value`` with the
"Health check and resources" form, and a label without a value comes back beside its field."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.web import Member, project_row


def test_an_owner_saves_the_host_label_and_a_bad_one_comes_back(
    client: TestClient, alice: Member, csrf: str, sessions: sessionmaker[Session]
) -> None:
    url = f"/projects/{alice.project_slug}/settings"
    response = client.post(
        f"{url}/health",
        data={"placement_label": "zone=eu", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert project_row(sessions, alice.project_id).placement_label == "zone=eu"
    assert 'name="placement_label" type="text" value="zone=eu"' in client.get(url).text

    refused = client.post(f"{url}/health", data={"placement_label": "eu", "csrf_token": csrf})
    assert refused.status_code == 422
    assert "key=value" in refused.text
    assert project_row(sessions, alice.project_id).placement_label == "zone=eu"
