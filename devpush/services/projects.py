"""Projects: validated creation, encrypted environment variables, team-scoped look-ups.

Every look-up takes the ``team_ids`` the caller may see: a project or deployment of
another team is simply not found, so the web and the API answer 404 (never 403).
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection
from pathlib import PurePosixPath
from typing import Annotated

from cryptography.fernet import Fernet
from dotenv.parser import parse_stream
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devpush.core.crypto import decrypt_mapping, encrypt_mapping
from devpush.core.errors import Conflict, InvalidInput, NotFound
from devpush.models import Deployment, Environment, Project, Team, new_id
from devpush.services.git import GitError, InvalidBranchError, parse_remote, validate_branch
from devpush.services.hosts import free_host_label
from devpush.services.project_rows import project_rows
from devpush.services.teams import slugify

#: The default runner image; the forms offer what the host's engine has
#: (devpush.services.runner_images.offered_images).
RUNNER_IMAGE_CHOICES = ("devpush/runner-python:local",)

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Docker image reference: [registry[:port]/]name[/name...][:tag][@sha256:digest]
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
_MAX_ENV_VARS = 200


class ProjectNotFoundError(NotFound, LookupError):
    """No project with this id or slug in the teams the caller may see."""

    user_message = "project not found"


class AmbiguousProjectError(Conflict, LookupError):
    """The slug names projects in several of the caller's teams: use the id."""

    user_message = "several of your teams have a project with this slug: use its id"


class ProjectExistsError(Conflict, ValueError):
    """The team already has a project with this slug."""


#: Inserts tried when concurrent creations keep taking the chosen slug or host label.
INSERT_ATTEMPTS = 3


def parse_env_lines(text: str) -> dict[str, str]:
    """Pasted ``.env`` text into a mapping, with dotenv's rules (python-dotenv's parser).

    Blank lines and ``#`` comments are skipped, ``export`` is allowed, values may be quoted
    and double-quoted ones may span lines (a PEM key) or use ``\\n``-style escapes.
    ``${VAR}`` is kept as written: values are stored, not expanded.
    """
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            raise InvalidInput(f"line {line}: expected KEY=VALUE (quote a value with spaces)")
        if binding.key is None:  # a blank line or a comment
            continue
        if binding.value is None:
            raise InvalidInput(f"line {line}: {binding.key} has no '=' and no value")
        if not _ENV_KEY.match(binding.key):
            raise InvalidInput(f"line {line}: {binding.key!r} is not a name like API_KEY")
        values[binding.key] = binding.value
    return values


# Unquoted, a value made of these reads back as written; anything else is double-quoted.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_./:@+,=-]*")
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\r": "\\r"})


def format_env_lines(values: dict[str, str]) -> str:
    """``.env`` text that ``parse_env_lines`` reads back to ``values`` (newlines kept as is)."""
    lines = []
    for key, value in sorted(values.items()):
        shown = value if _PLAIN_VALUE.fullmatch(value) else f'"{value.translate(_ESCAPES)}"'
        lines.append(f"{key}={shown}")
    return "\n".join(lines)


class ProjectCreate(BaseModel):
    """What a new project needs; the one validation used by the web form and the API."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=100)]
    slug: Annotated[str, Field(max_length=63)] = ""
    repo_url: Annotated[str, Field(min_length=1, max_length=2000)]
    default_branch: Annotated[str, Field(max_length=255)] = "main"
    runner_image: Annotated[str, Field(max_length=255)] = RUNNER_IMAGE_CHOICES[0]
    root_directory: Annotated[str, Field(max_length=255)] = ""
    build_command: Annotated[str, Field(max_length=4000)] = ""
    pre_deploy_command: Annotated[str, Field(max_length=4000)] = ""
    start_command: Annotated[str, Field(min_length=1, max_length=4000)]
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    env_vars: dict[str, str] = Field(default_factory=dict)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        value = value.lower()
        if value and not _SLUG.match(value):
            raise ValueError("use lowercase letters, digits and dashes (not at either end)")
        return value

    @field_validator("repo_url")
    @classmethod
    def _repo_url(cls, value: str) -> str:
        # The form only (https, ssh, local path); where a local path may be is checked
        # with the settings (devpush.services.git.parse_remote with local_roots).
        try:
            parse_remote(value)
        except GitError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("default_branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        try:
            return validate_branch(value)
        except InvalidBranchError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("runner_image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _IMAGE.match(value):
            raise ValueError("not a valid image reference, e.g. devpush/runner-python:local")
        return value

    @field_validator("root_directory")
    @classmethod
    def _root(cls, value: str) -> str:
        if not value or value in (".", "./"):
            return ""
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError("a path inside the repository, like apps/web")
        return str(path)

    @field_validator("env_vars")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > _MAX_ENV_VARS:
            raise ValueError(f"at most {_MAX_ENV_VARS} variables")
        for key in value:
            if not _ENV_KEY.match(key):
                raise ValueError(f"{key!r} is not a valid variable name")
        return value

    @model_validator(mode="after")
    def _default_slug(self) -> ProjectCreate:
        if not self.slug:
            self.slug = slugify(self.name)[:63].strip("-") or "project"
        return self


def create_project(session: Session, *, team: Team, data: ProjectCreate, fernet: Fernet) -> Project:
    """Create the project and its production environment (part of the same transaction).

    Two creations at once may both pass the checks below; the database's unique
    constraints let one insert win. The other's insert is rolled back to a savepoint and
    tried again: it then finds the slug taken (ProjectExistsError, a 409), or picks
    another host label (the winner took the one it had chosen).
    """
    from devpush.services.deployments import ensure_production_environment

    for _ in range(INSERT_ATTEMPTS):
        taken = session.scalar(
            select(Project.id).where(Project.team_id == team.id, Project.slug == data.slug)
        )
        if taken is not None:
            raise ProjectExistsError(f"this team already has a project named {data.slug!r}")
        project_id = new_id()
        project = Project(
            id=project_id,
            # By id, not the relationship: a rolled-back attempt must not stay in
            # team.projects.
            team_id=team.id,
            name=data.name,
            slug=data.slug,
            host_label=free_host_label(
                data.slug,
                team_slug=team.slug,
                salt=project_id,
                taken=session.scalars(select(Project.host_label)),
            ),
            repo_url=data.repo_url,
            default_branch=data.default_branch,
            runner_image=data.runner_image,
            root_directory=data.root_directory,
            build_command=data.build_command,
            pre_deploy_command=data.pre_deploy_command,
            start_command=data.start_command,
            port=data.port,
            env_vars_encrypted=encrypt_mapping(fernet, data.env_vars) if data.env_vars else "",
        )
        try:
            with session.begin_nested():
                session.add(project)
                session.flush()
        except IntegrityError:
            continue  # another creation won the slug or the label: check again
        ensure_production_environment(session, project=project)
        session.flush()
        return project
    raise ProjectExistsError(f"could not create {data.slug!r}: try again")


def project_env_vars(project: Project, *, fernet: Fernet) -> dict[str, str]:
    if not project.env_vars_encrypted:
        return {}
    return decrypt_mapping(fernet, project.env_vars_encrypted)


def list_projects(session: Session, *, team_ids: Collection[str]) -> list[Project]:
    return list(
        session.scalars(
            select(Project).where(Project.team_id.in_(team_ids)).order_by(Project.name, Project.id)
        )
    )


def find_project(session: Session, *, team_ids: Collection[str], ref: str) -> Project:
    """The project with this id or slug among ``team_ids``; raises ProjectNotFoundError."""
    matches = list(
        session.scalars(
            select(Project).where(
                Project.team_id.in_(team_ids), or_(Project.id == ref, Project.slug == ref)
            )
        )
    )
    by_id = [p for p in matches if p.id == ref]
    if by_id:
        return by_id[0]
    if len(matches) > 1:
        raise AmbiguousProjectError(ref)
    if not matches:
        raise ProjectNotFoundError(ref)
    return matches[0]


def find_deployment(
    session: Session, *, team_ids: Collection[str], deployment_id: str
) -> Deployment | None:
    return session.scalar(
        select(Deployment)
        .join(Project, Project.id == Deployment.project_id)
        .where(Deployment.id == deployment_id, Project.team_id.in_(team_ids))
    )


def list_deployments(session: Session, *, project: Project, limit: int = 20) -> list[Deployment]:
    """The project's deployments, newest first."""
    newest_first = (Deployment.created_at.desc(), Deployment.id)
    return project_rows(
        session, Deployment, Deployment.project_id, project.id, *newest_first, limit=limit
    )


def list_environments(session: Session, *, project: Project) -> list[Environment]:
    return list(
        session.scalars(
            select(Environment)
            .where(Environment.project_id == project.id)
            .order_by(Environment.kind, Environment.name)
        )
    )


def branch_choices(session: Session, *, project: Project) -> list[str]:
    """Branches to offer in the deploy picker: the default first, then known environments."""
    branches = [project.default_branch]
    for environment in list_environments(session, project=project):
        if environment.branch not in branches:
            branches.append(environment.branch)
    return branches
