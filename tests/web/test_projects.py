import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.crypto import decrypt_mapping, fernet_for
from devpush.models import DeploymentStatus
from devpush.services.deployments import transition
from tests.fixtures.web import SECRET_KEY, Member
from tests.utils.git import make_repo
from tests.web.forms import FORM


@pytest.fixture(autouse=True)
def real_repo(tmp_path: Path) -> None:
    # Creation checks the repository with git: the form points at a real one.
    FORM["repo_url"] = str(make_repo(tmp_path / "blog"))


def test_new_project_form_offers_runner_images(client: TestClient, alice: Member) -> None:
    page = client.get("/projects/new")
    assert page.status_code == 200
    assert "devpush/runner-python:local" in page.text
    assert "node:" not in page.text  # not on this host: only images the engine has


def test_create_project_from_the_form(
    client: TestClient, csrf: str, sessions: sessionmaker[Session]
) -> None:
    response = client.post("/projects", data={**FORM, "csrf_token": csrf}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/projects/blog")
    page = client.get("/projects/blog")
    assert page.status_code == 200
    assert "production" in page.text
    assert "very-secret-pw" not in page.text
    assert "Blog" in client.get("/projects").text
    with sessions() as session:
        raw = session.execute(
            text("SELECT env_vars_encrypted FROM projects WHERE slug = 'blog'")
        ).scalar_one()
    assert "very-secret-pw" not in raw
    assert "DATABASE_PASSWORD" not in raw
    assert decrypt_mapping(fernet_for(SECRET_KEY), raw) == {
        "DATABASE_PASSWORD": "very-secret-pw",
        "DEBUG": "0",
    }


def test_invalid_form_shows_each_error(client: TestClient, csrf: str) -> None:
    bad = {
        **FORM,
        "repo_url": "ftp://example.org/x",
        "port": "99999",
        "runner_image": "Not An Image",
        "env_vars": "GOOD=1\nthis is not a pair",
        "start_command": "",
        "csrf_token": csrf,
    }
    response = client.post("/projects", data=bad)
    assert response.status_code == 422
    errors = dict(re.findall(r'id="error-([a-z_]+)">([^<]+)<', response.text))
    assert set(errors) == {"repo_url", "port", "runner_image", "env_vars", "start_command"}
    assert "line 2" in errors["env_vars"]
    # What the user typed is kept.
    assert "ftp://example.org/x" in response.text
    assert "Blog" not in client.get("/projects").text


def test_duplicate_slug_in_the_team_is_an_error(client: TestClient, csrf: str) -> None:
    response = client.post("/projects", data={**FORM, "slug": "shop", "csrf_token": csrf})
    assert response.status_code == 422
    assert 'id="error-slug"' in response.text


def test_project_page_polls_while_a_deployment_moves(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    slug = alice.project_slug
    partial = client.get(f"/projects/{slug}/deployments", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text
    assert 'hx-trigger="every 2s"' in partial.text
    assert 'data-status="queued"' in partial.text
    with sessions() as session:
        deployment_id = alice.deployment_id
        transition(session, deployment_id=deployment_id, to=DeploymentStatus.BUILDING)
        transition(session, deployment_id=deployment_id, to=DeploymentStatus.RUNNING)
        session.commit()
    partial = client.get(f"/projects/{slug}/deployments", headers={"HX-Request": "true"})
    assert 'data-status="running"' in partial.text
    assert "hx-trigger" not in partial.text
