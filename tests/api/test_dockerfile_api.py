"""The Dockerfile build over the API: ``PATCH /api/v1/projects/<ref>`` with a ``dockerfile``
object turns it on, sets its path and build arguments, and refuses bad ones with a 422."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.web import TwoTeams, bearer, project_row, refused_field

pytestmark = pytest.mark.both_databases


def test_an_owner_builds_from_a_dockerfile_with_the_images_cmd(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice
    url = f"/api/v1/projects/{alice.project_slug}"
    shown = client.get(url, headers=bearer(alice.token)).json()
    assert shown["dockerfile"] == {"enabled": False, "path": "Dockerfile", "build_args": {}}

    response = client.patch(
        url,
        json={
            "dockerfile": {
                "enabled": True,
                "path": "deploy/Dockerfile",
                "build_args": {"NODE_ENV": "production"},
            },
            "start_command": "",  # the image's CMD starts the app
        },
        headers=bearer(alice.token),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dockerfile"] == {
        "enabled": True,
        "path": "deploy/Dockerfile",
        "build_args": {"NODE_ENV": "production"},
    }
    assert body["start_command"] == ""
    project = project_row(sessions, alice.project_id)
    assert (project.build_from_dockerfile, project.dockerfile_path) == (True, "deploy/Dockerfile")

    # A build command project needs its start command back before it leaves the Dockerfile.
    back = client.patch(url, json={"dockerfile": {"enabled": False}}, headers=bearer(alice.token))
    assert back.status_code == 422, back.text
    back = client.patch(
        url,
        json={
            "dockerfile": {"enabled": False, "build_args": {}},
            "start_command": "python3 app.py",
        },
        headers=bearer(alice.token),
    )
    assert back.status_code == 200, back.text
    assert back.json()["dockerfile"] == {
        "enabled": False,
        "path": "deploy/Dockerfile",
        "build_args": {},
    }


@pytest.mark.parametrize(
    ("dockerfile", "where"),
    [
        ({"path": "../Dockerfile"}, "path"),
        ({"path": "/etc/Dockerfile"}, "path"),
        ({"path": ""}, "path"),
        ({"build_args": {"BAD NAME": "x"}}, "build_args"),
        ({"context": "."}, "context"),
    ],
)
def test_a_bad_dockerfile_setting_is_a_422_naming_the_field(
    client: TestClient, two_teams: TwoTeams, dockerfile: dict[str, object], where: str
) -> None:
    assert refused_field(client, two_teams.alice, {"dockerfile": dockerfile}) == where
