"""The Dockerfile build over the API: ``PATCH /api/v1/projects/<ref>`` with a ``dockerfile``
object turns it on, sets its path and build arguments, and refuses bad ones with a 422."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.projects import changed, shown
from tests.fixtures.web import Member, TwoTeams, project_row, refused_field

pytestmark = pytest.mark.both_databases


def test_an_owner_builds_from_a_dockerfile_with_the_images_cmd(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    off = {"enabled": False, "path": "Dockerfile", "build_args": {}}
    assert shown(client, alice)["dockerfile"] == off

    body = changed(
        client,
        alice,
        {
            "dockerfile": {
                "enabled": True,
                "path": "deploy/Dockerfile",
                "build_args": {"NODE_ENV": "production"},
            },
            "start_command": "",  # the image's CMD starts the app
        },
    )
    assert body["dockerfile"] == {
        "enabled": True,
        "path": "deploy/Dockerfile",
        "build_args": {"NODE_ENV": "production"},
    }
    assert body["start_command"] == ""
    project = project_row(sessions, alice.project_id)
    assert (project.build_from_dockerfile, project.dockerfile_path) == (True, "deploy/Dockerfile")

    # A build command project needs its start command back before it leaves the Dockerfile.
    assert refused_field(client, alice, {"dockerfile": {"enabled": False}}) == "start_command"
    back = changed(
        client,
        alice,
        {"dockerfile": {"enabled": False, "build_args": {}}, "start_command": "python3 app.py"},
    )
    assert back["dockerfile"] == {**off, "path": "deploy/Dockerfile"}


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
