"""The settings page's "Build" form: owners turn on the Dockerfile build with its path and
build arguments; a bad path comes back beside its field with a 422."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.web import Member, project_row


def test_an_owner_builds_from_a_dockerfile(
    client: TestClient, alice: Member, csrf: str, sessions: sessionmaker[Session]
) -> None:
    url = f"/projects/{alice.project_slug}/settings"
    page = client.get(url)
    assert 'id="build"' in page.text
    assert 'name="dockerfile_path" type="text" value="Dockerfile"' in page.text

    response = client.post(
        f"{url}/build",
        data={
            "dockerfile_enabled": "1",
            "dockerfile_path": "deploy/Dockerfile",
            "build_args": "NODE_ENV=production\nVERSION=2",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/projects/shop/settings?saved=build#build"
    project = project_row(sessions, alice.project_id)
    assert project.build_from_dockerfile
    assert project.dockerfile_path == "deploy/Dockerfile"
    assert project.build_args == {"NODE_ENV": "production", "VERSION": "2"}
    assert "NODE_ENV=production\nVERSION=2</textarea>" in client.get(url).text

    bad = client.post(
        f"{url}/build",
        data={"dockerfile_enabled": "1", "dockerfile_path": "../Dockerfile", "csrf_token": csrf},
    )
    assert bad.status_code == 422
    assert 'id="error-dockerfile_path"' in bad.text
    assert "relative path inside the repository" in bad.text
    assert project_row(sessions, alice.project_id).dockerfile_path == "deploy/Dockerfile"
