"""The project settings page: owners change settings and variables and delete; members
read the page and get 403 on every change; another team gets 404 on every route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.crypto import decrypt_mapping, fernet_for
from devpush.models import Deployment, Environment, Project
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import (
    CAROL,
    SECRET_KEY,
    Member,
    TwoTeams,
    log_in,
    pending,
    preview_environment,
    project_row,
)
from tests.web.forms import redirected

pytestmark = pytest.mark.both_databases


@pytest.fixture
def alice_preview(two_teams: TwoTeams, sessions: sessionmaker[Session], queue: DeployQueue) -> str:
    """Alice's preview environment, with a queued deployment: its id."""
    return preview_environment(sessions, queue, two_teams.alice.project_id)


def _variables(holder: Project | Environment) -> dict[str, str]:
    encrypted = holder.env_vars_encrypted
    return decrypt_mapping(fernet_for(SECRET_KEY), encrypted) if encrypted else {}


def _owner_routes(slug: str, environment_id: str) -> list[tuple[str, dict[str, str]]]:
    """Every change the settings page makes, with a valid form."""
    return [
        (
            f"/projects/{slug}/settings",
            {
                "name": "Renamed",
                "start_command": "x",
                "port": "9000",
                "runner_image": "devpush/runner-python:local",
            },
        ),
        (f"/projects/{slug}/settings/variables", {"scope": "shared", "env_vars": "A=1"}),
        (f"/projects/{slug}/settings/variables", {"scope": "shared", "key": "A", "value": "2"}),
        (f"/projects/{slug}/settings/variables/delete", {"scope": "shared", "key": "SECRET_TOKEN"}),
        (f"/projects/{slug}/environments/{environment_id}/delete", {}),
        (f"/projects/{slug}/delete", {"confirm": "Shop"}),
    ]


def test_owner_changes_settings_at_the_next_deployment(
    client: TestClient, alice: Member, csrf: str, sessions: sessionmaker[Session]
) -> None:
    page = client.get(f"/projects/{alice.project_slug}/settings")
    assert page.status_code == 200
    assert "Changes take effect at the next deployment" in page.text
    assert 'value="python3 -m http.server $PORT"' not in page.text  # a textarea, not an input
    assert "python3 -m http.server $PORT" in page.text

    form = {
        "name": "Shop v2",
        "runner_image": "devpush/busybox:local",
        "root_directory": "apps/web",
        "build_command": "pip install -r requirements.txt",
        "pre_deploy_command": "python manage.py migrate",
        "start_command": "python3 app.py",
        "port": "9000",
        "csrf_token": csrf,
    }
    location = redirected(client, f"/projects/{alice.project_slug}/settings", form)
    project = project_row(sessions, alice.project_id)
    assert (project.name, project.slug, project.port) == ("Shop v2", "shop", 9000)
    assert (project.runner_image, project.root_directory) == ("devpush/busybox:local", "apps/web")
    assert project.pre_deploy_command == "python manage.py migrate"
    saved = client.get(location)
    assert "Saved. Changes take effect at the next deployment" in saved.text

    # Refused values: each error next to its field, nothing saved.
    bad = {**form, "port": "70000", "root_directory": "../up", "start_command": " ", "name": "X"}
    response = client.post(f"/projects/{alice.project_slug}/settings", data=bad)
    assert response.status_code == 422
    for field in ("port", "root_directory", "start_command"):
        assert f'id="error-{field}"' in response.text, field
    assert project_row(sessions, alice.project_id).name == "Shop v2"
    # An image the host's engine lacks is refused now, with the reason (not at the deploy).
    absent = {**form, "runner_image": "devpush/absent:none"}
    response = client.post(f"/projects/{alice.project_slug}/settings", data=absent)
    assert response.status_code == 422
    assert "devpush/absent:none is not available on this host" in response.text
    assert project_row(sessions, alice.project_id).runner_image == "devpush/busybox:local"


def test_variables_are_write_only_per_scope(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session], alice_preview: str
) -> None:
    alice = two_teams.alice
    environment_id = alice_preview
    token = log_in(client, alice.email)
    url = f"/projects/{alice.project_slug}/settings/variables"

    # Pasted .env text into the shared scope, and one variable into the preview.
    pasted = 'export GREETING="hello world"\nMULTI="line one\nline two"\n'
    redirected(client, url, {"scope": "shared", "env_vars": pasted, "csrf_token": token})
    redirected(
        client, url, {"scope": "feature", "env_vars": "ONLY_PREVIEW=p-value", "csrf_token": token}
    )
    # Replace one value.
    client.post(
        url,
        data={
            "scope": "shared",
            "key": "SECRET_TOKEN",
            "value": "rotated-value",
            "csrf_token": token,
        },
    )
    with sessions() as session:
        project = session.get(Project, alice.project_id)
        environment = session.get(Environment, environment_id)
        assert project is not None and environment is not None
        assert _variables(project) == {
            "SECRET_TOKEN": "rotated-value",
            "GREETING": "hello world",
            "MULTI": "line one\nline two",
        }
        assert _variables(environment) == {"ONLY_PREVIEW": "p-value"}

    page = client.get(f"/projects/{alice.project_slug}/settings").text
    for name in ("SECRET_TOKEN", "GREETING", "MULTI", "ONLY_PREVIEW"):
        assert name in page
    for value in ("rotated-value", "s3cr3t-value", "hello world", "line one", "p-value"):
        assert value not in page

    # A bad line is named; nothing is saved.
    response = client.post(
        url, data={"scope": "shared", "env_vars": "GOOD=1\nnot a line", "csrf_token": token}
    )
    assert response.status_code == 422
    assert "line 2" in response.text
    # Delete one; an unknown scope is 404.
    client.post(f"{url}/delete", data={"scope": "shared", "key": "GREETING", "csrf_token": token})
    assert "GOOD" not in _variables(project_row(sessions, alice.project_id))
    assert "GREETING" not in _variables(project_row(sessions, alice.project_id))
    response = client.post(url, data={"scope": "nope", "env_vars": "A=1", "csrf_token": token})
    assert response.status_code == 404


def test_saving_or_deleting_a_variable_shows_the_saved_notice(
    client: TestClient, alice: Member, csrf: str
) -> None:
    # The query must come before the fragment: "#variables?saved=variables" is all fragment,
    # which the browser never sends, so the page would not know it was saved.
    url = f"/projects/{alice.project_slug}/settings/variables"
    for path, form in (
        (url, {"scope": "shared", "env_vars": "A=1"}),
        (f"{url}/delete", {"scope": "shared", "key": "A"}),
    ):
        location = redirected(client, path, {**form, "csrf_token": csrf})
        assert location == f"/projects/{alice.project_slug}/settings?saved=variables#variables"
        assert 'id="saved"' in client.get(location).text
        followed = client.post(path, data={**form, "csrf_token": csrf})
        assert followed.status_code == 200
        assert 'id="saved"' in followed.text


def test_delete_environment_and_project_stop_their_runners(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    queue: DeployQueue,
    alice_preview: str,
) -> None:
    alice = two_teams.alice
    environment_id = alice_preview
    token = log_in(client, alice.email)
    with sessions() as session:
        production = session.scalar(
            select(Environment.id).where(
                Environment.project_id == alice.project_id, Environment.name == "production"
            )
        )
        preview_deployments = set(
            session.scalars(
                select(Deployment.id).where(Deployment.environment_id == environment_id)
            )
        )
    before = len(pending(queue))

    # Production goes only with the project.
    response = client.post(
        f"/projects/{alice.project_slug}/environments/{production}/delete",
        data={"csrf_token": token},
    )
    assert response.status_code == 409
    redirected(
        client,
        f"/projects/{alice.project_slug}/environments/{environment_id}/delete",
        {"csrf_token": token},
    )
    with sessions() as session:
        assert session.get(Environment, environment_id) is None
    stops = pending(queue)[before:]
    assert {args[0] for name, args in stops} == preview_deployments
    assert {name for name, _ in stops} == {"devpush.stop"}

    # The project: the name must be typed.
    url = f"/projects/{alice.project_slug}/delete"
    response = client.post(url, data={"confirm": "shop-typo", "csrf_token": token})
    assert response.status_code == 422
    assert "to confirm" in response.text
    assert project_row(sessions, alice.project_id).name == "Shop"
    before = len(pending(queue))
    assert redirected(client, url, {"confirm": "Shop", "csrf_token": token}) == "/projects"
    with sessions() as session:
        assert session.get(Project, alice.project_id) is None
        assert session.get(Deployment, alice.deployment_id) is None
    assert [args[0] for _, args in pending(queue)[before:]] == [alice.deployment_id]
    assert client.get(f"/projects/{alice.project_slug}/settings").status_code == 404
    # Bob's project of the same slug is untouched.
    assert project_row(sessions, two_teams.bob.project_id).slug == "shop"


def test_another_team_gets_404_on_every_settings_route(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    queue: DeployQueue,
) -> None:
    bob = two_teams.bob
    environment_id = preview_environment(sessions, queue, bob.project_id)
    token = log_in(client, two_teams.alice.email)
    before = len(pending(queue))
    for ref in (bob.project_id,):  # Bob's slug is Alice's own project's slug
        assert client.get(f"/projects/{ref}/settings").status_code == 404
        for path, data in _owner_routes(ref, environment_id):
            response = client.post(path, data={**data, "csrf_token": token})
            assert response.status_code == 404, path
    # Alice's own project URL with Bob's environment id.
    response = client.post(
        f"/projects/{two_teams.alice.project_slug}/environments/{environment_id}/delete",
        data={"csrf_token": token},
    )
    assert response.status_code == 404
    with sessions() as session:
        project = session.get(Project, bob.project_id)
        assert project is not None
        assert (project.name, project.port) == ("Shop", 8000)
        assert _variables(project) == {"SECRET_TOKEN": "s3cr3t-value"}
        assert session.get(Environment, environment_id) is not None
    assert len(pending(queue)) == before


def test_a_member_reads_and_deploys_but_gets_403_on_changes(
    client: TestClient,
    two_teams: TwoTeams,
    carol: int,
    sessions: sessionmaker[Session],
    alice_preview: str,
) -> None:
    alice = two_teams.alice
    environment_id = alice_preview
    token = log_in(client, CAROL)
    page = client.get(f"/projects/{alice.project_slug}/settings")
    assert page.status_code == 200
    assert "only an owner can change these settings" in page.text
    assert "Delete project" not in page.text
    for path, data in _owner_routes(alice.project_slug, environment_id):
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
        assert "only an owner" in response.text
    project = project_row(sessions, alice.project_id)
    assert project.name == "Shop"
    # Members deploy.
    redirected(
        client,
        f"/projects/{alice.project_slug}/deployments",
        {"branch": "main", "csrf_token": token},
    )
    # Members read logs: let in to the Logs page, which says the store is down (it is, in
    # these tests: 503); another team's user would get 404.
    logs = client.get(f"/projects/{alice.project_slug}/logs")
    assert logs.status_code == 503 and "log store" in logs.text
