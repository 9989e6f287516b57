"""The settings page's "Health check and resources" form and the deployment page's health:
owners save the check and the limits (empty fields: the defaults), bad values come back
beside their fields with a 422, members get 403; the deployment page shows the health."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import Deployment, DeploymentStatus, HealthStatus
from tests.fixtures.web import CAROL, Member, TwoTeams, log_in, project_row

FORM = {
    "health_path": "/healthz",
    "health_expect_status": "200-399",
    "health_grace_seconds": "30",
    "health_interval_seconds": "10",
    "health_failure_threshold": "2",
    "memory_mb": "256",
    "cpus": "0.5",
}


def test_an_owner_saves_the_check_and_the_limits(
    client: TestClient, alice: Member, csrf: str, sessions: sessionmaker[Session]
) -> None:
    url = f"/projects/{alice.project_slug}/settings"
    page = client.get(url)
    assert page.status_code == 200
    assert 'id="health"' in page.text
    assert 'name="health_path" type="text" value="/"' in page.text

    response = client.post(
        f"{url}/health", data={**FORM, "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/projects/shop/settings?saved=health#health"
    assert "Saved." in client.get(response.headers["location"]).text
    project = project_row(sessions, alice.project_id)
    assert project.health_check == {
        "path": "/healthz",
        "expect_status": "200-399",
        "grace_seconds": 30,
        "interval_seconds": 10,
        "failure_threshold": 2,
    }
    assert (project.memory_mb, project.cpus) == (256, 0.5)
    assert 'name="memory_mb" type="number" value="256"' in client.get(url).text

    # Empty fields: back to the defaults (checks off while running, the server's limits).
    empty = dict.fromkeys(FORM, "")
    response = client.post(
        f"{url}/health", data={**empty, "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    project = project_row(sessions, alice.project_id)
    assert project.health_check == {
        "path": "/",
        "expect_status": "100-599",
        "grace_seconds": None,
        "interval_seconds": None,
        "failure_threshold": 3,
    }
    assert (project.memory_mb, project.cpus) == (None, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("health_path", "healthz", "start it with /"),
        ("health_expect_status", "2xx", "use a code or a range, like 200 or 200-399"),
        ("health_interval_seconds", "0", "at least 1"),
        ("health_failure_threshold", "many", "Enter a whole number."),
        ("memory_mb", "100000", "100000 MB is more than this server allows (at most 4096 MB)"),
        ("cpus", "32", "32 is more than this server allows (at most 4)"),
    ],
)
def test_a_bad_value_comes_back_beside_its_field(
    client: TestClient,
    alice: Member,
    csrf: str,
    sessions: sessionmaker[Session],
    field: str,
    value: str,
    message: str,
) -> None:
    response = client.post(
        f"/projects/{alice.project_slug}/settings/health",
        data={**FORM, field: value, "csrf_token": csrf},
    )
    assert response.status_code == 422
    start = response.text.index(f'id="error-{field}"')
    assert message in response.text[start : response.text.index("</small>", start)]
    # The value typed stays in the form; nothing was saved.
    assert f'value="{value}"' in response.text
    project = project_row(sessions, alice.project_id)
    assert (project.health_path, project.memory_mb) == ("/", None)


def test_a_member_may_not_save_and_another_team_finds_nothing(
    client: TestClient, two_teams: TwoTeams, carol: int
) -> None:
    token = log_in(client, CAROL)
    response = client.post(
        f"/projects/{two_teams.alice.project_slug}/settings/health",
        data={**FORM, "csrf_token": token},
    )
    assert response.status_code == 403
    response = client.post(
        f"/projects/{two_teams.bob.project_id}/settings/health",
        data={**FORM, "csrf_token": token},
    )
    assert response.status_code == 404


def test_the_deployment_page_shows_its_health(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    url = f"/projects/{alice.project_slug}/deployments/{alice.deployment_id}"
    assert 'id="deployment-health"' not in client.get(url).text  # queued: no health yet
    with sessions() as session:
        deployment = session.get(Deployment, alice.deployment_id)
        assert deployment is not None
        deployment.status = DeploymentStatus.RUNNING
        deployment.health_status = HealthStatus.UNHEALTHY
        deployment.health_error = "GET /healthz (expects 200): status 500: <b>broken</b>"
        deployment.health_restarts = 3
        session.commit()
    page = client.get(url).text
    start = page.index('<div id="deployment-health"')
    block = page[start : page.index("</div>", start)]
    assert 'data-health="unhealthy"' in block
    assert 'class="health-restarts">3<' in block
    assert "status 500: &lt;b&gt;broken&lt;/b&gt;" in block  # the app's words, escaped
