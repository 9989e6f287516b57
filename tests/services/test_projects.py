from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.crypto import fernet_for
from devpush.models import EnvironmentKind, Project, Team
from devpush.services import projects as projects_service
from devpush.services.projects import (
    AmbiguousProjectError,
    ProjectCreate,
    ProjectExistsError,
    ProjectNotFoundError,
    create_project,
    find_project,
    list_environments,
    parse_env_lines,
    project_env_vars,
)
from devpush.services.teams import create_team
from devpush.services.users import create_user

FERNET = fernet_for("test-secret")
VALID = {
    "name": "My App",
    "repo_url": "https://git.example.org/me/app.git",
    "start_command": "python3 app.py",
}


pytestmark = pytest.mark.both_databases


def test_defaults_and_derived_slug() -> None:
    data = ProjectCreate.model_validate(VALID)
    assert data.slug == "my-app"
    assert data.default_branch == "main"
    assert data.runner_image == "devpush/runner-python:local"
    assert data.port == 8000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("repo_url", "http://git.example.org/app.git"),
        ("repo_url", "ext::sh -c id"),
        ("repo_url", "-oProxyCommand=x:y"),
        ("repo_url", "https://user:pw@example.org/app.git"),
        ("repo_url", "relative/path"),
        ("slug", "Not A Slug"),
        ("slug", "-edge"),
        ("default_branch", "bad..branch"),
        ("default_branch", "-x"),
        ("runner_image", "Upper/Case:tag"),
        ("runner_image", "image with space"),
        ("root_directory", "../outside"),
        ("root_directory", "/abs"),
        ("port", 0),
        ("port", 70000),
        ("start_command", ""),
        ("env_vars", {"1BAD": "x"}),
    ],
)
def test_invalid_fields_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        ProjectCreate.model_validate({**VALID, field: value})
    assert info.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    "value",
    [
        "/srv/repos/app",
        "file:///srv/repos/app",
        "https://example.org/a/b.git",
        "git@example.org:me/app.git",
        "ssh://git@example.org:2222/me/app.git",
    ],
)
def test_accepted_repositories(value: str) -> None:
    assert ProjectCreate.model_validate({**VALID, "repo_url": value}).repo_url == value


def test_parse_env_lines() -> None:
    text = "# comment\nA=1\n\nB = two=2\nEMPTY=\n"
    assert parse_env_lines(text) == {"A": "1", "B": "two=2", "EMPTY": ""}
    with pytest.raises(ValueError, match="line 2"):
        parse_env_lines("A=1\nnot a pair")


def test_create_project_encrypts_env_vars_and_makes_production(session: Session) -> None:
    ada = create_user(session, email="ada@example.org", password="long enough")
    team = create_team(session, name="A", owner=ada)
    data = ProjectCreate.model_validate({**VALID, "env_vars": {"API_KEY": "hunter2-secret"}})
    project = create_project(session, team=team, data=data, fernet=FERNET)
    session.commit()
    raw = session.execute(
        text("SELECT env_vars_encrypted FROM projects WHERE id = :id"), {"id": project.id}
    ).scalar_one()
    assert "hunter2-secret" not in raw
    assert "API_KEY" not in raw
    assert project_env_vars(project, fernet=FERNET) == {"API_KEY": "hunter2-secret"}
    [environment] = list_environments(session, project=project)
    assert (environment.kind, environment.branch) == (EnvironmentKind.PRODUCTION, "main")
    with pytest.raises(ProjectExistsError):
        create_project(session, team=team, data=data, fernet=FERNET)


def test_find_project_is_scoped_to_teams(session: Session) -> None:
    ada = create_user(session, email="ada@example.org", password="long enough")
    a = create_team(session, name="A", owner=ada)
    b = create_team(session, name="B", owner=ada)
    data = ProjectCreate.model_validate(VALID)
    in_a = create_project(session, team=a, data=data, fernet=FERNET)
    in_b = create_project(session, team=b, data=data, fernet=FERNET)
    assert find_project(session, team_ids=[a.id], ref="my-app") is in_a
    assert find_project(session, team_ids=[a.id], ref=in_a.id) is in_a
    with pytest.raises(ProjectNotFoundError):
        find_project(session, team_ids=[a.id], ref=in_b.id)
    with pytest.raises(AmbiguousProjectError):
        find_project(session, team_ids=[a.id, b.id], ref="my-app")
    assert find_project(session, team_ids=[a.id, b.id], ref=in_b.id) is in_b


def test_two_teams_projects_of_one_name_get_distinct_host_labels(session: Session) -> None:
    owner = create_user(session, email="o@example.org", password="a long passphrase")
    acme, globex = (create_team(session, name=n, owner=owner) for n in ("Acme", "Globex"))
    data = ProjectCreate.model_validate({**VALID, "slug": "shop"})
    first = create_project(session, team=acme, data=data, fernet=FERNET)
    second = create_project(session, team=globex, data=data, fernet=FERNET)
    # The first keeps its name; the second team's "shop" never serves the first's URLs.
    assert (first.host_label, second.host_label) == ("shop", "shop-globex")
    # A project whose label would end in "-shop" could meet shop's environment hosts.
    tail = ProjectCreate.model_validate({**VALID, "slug": "preview-shop"})
    third = create_project(session, team=acme, data=tail, fernet=FERNET)
    assert third.host_label == "preview-shop-acme"


def _racing(
    monkeypatch: pytest.MonkeyPatch,
    sessions: sessionmaker[Session],
    rival: Callable[[Session], None],
) -> None:
    """Make ``rival`` commit in another session once, between create_project's checks and its
    insert: what a second request creating the same name at that instant does."""
    real = projects_service.free_host_label
    pending = [rival]

    def label_then_race(*args: Any, **kwargs: Any) -> str:
        label = real(*args, **kwargs)
        if pending:
            with sessions() as other:
                pending.pop()(other)
                other.commit()
        return label

    monkeypatch.setattr(projects_service, "free_host_label", label_then_race)


def _rival_creates(team_id: str, data: ProjectCreate) -> Callable[[Session], None]:
    """What a rival request does in its own session: create ``data`` in team ``team_id``."""

    def create(other: Session) -> None:
        rival_team = other.get(Team, team_id)
        assert rival_team is not None
        create_project(other, team=rival_team, data=data, fernet=FERNET)

    return create


def test_a_slug_taken_at_the_same_instant_is_a_conflict_not_a_crash(
    session: Session, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = create_user(session, email="o@example.org", password="a long passphrase")
    team = create_team(session, name="Acme", owner=owner)
    session.commit()
    data = ProjectCreate.model_validate({**VALID, "slug": "shop"})

    _racing(monkeypatch, sessions, _rival_creates(team.id, data))
    with pytest.raises(ProjectExistsError, match="already has a project named 'shop'"):
        create_project(session, team=team, data=data, fernet=FERNET)
    session.rollback()
    assert session.scalars(select(Project.slug)).all() == ["shop"]


def test_a_host_label_taken_at_the_same_instant_gets_the_next_one(
    session: Session, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = create_user(session, email="o@example.org", password="a long passphrase")
    acme, globex = (create_team(session, name=n, owner=owner) for n in ("Acme", "Globex"))
    session.commit()
    data = ProjectCreate.model_validate({**VALID, "slug": "shop"})

    _racing(monkeypatch, sessions, _rival_creates(acme.id, data))
    mine = create_project(session, team=globex, data=data, fernet=FERNET)
    session.commit()
    # Both chose "shop"; the rival's insert won, so this one took the next free label.
    assert mine.host_label == "shop-globex"
    assert sorted(session.scalars(select(Project.host_label))) == ["shop", "shop-globex"]
