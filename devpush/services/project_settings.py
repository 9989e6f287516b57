"""Changing a project after creation: its settings, its variables, deleting parts of it.

Every change is validated by the same rules as a new project (``ProjectCreate``).
Variables are write-only: callers see their names, never their values again. A change
takes effect at the next deployment (a running one keeps the values it started with).

Deleting an environment or a project deletes its deployments' rows, then asks the
worker to stop and remove their runners (``enqueue_stop`` for a deployment whose row
is gone removes its runner: see ``devpush.workers.tasks.stop``).
"""

from __future__ import annotations

from typing import Annotated

from cryptography.fernet import Fernet
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from devpush.core.config import Settings
from devpush.core.crypto import decrypt_mapping, encrypt_mapping
from devpush.core.errors import Conflict, NotFound
from devpush.models import Deployment, DeploymentStatus, Environment, EnvironmentKind, Project
from devpush.services import health, resources
from devpush.services.cluster.runner_services import host_label_constraints
from devpush.services.dockerfile import DockerfileUpdate
from devpush.services.dockerfile import apply_update as apply_dockerfile
from devpush.services.jobs import DeployJobs
from devpush.services.projects import ProjectCreate

#: The variables scope shared by every environment of a project.
SHARED_SCOPE = "shared"

#: The settings a user may change; the slug stays (it is in every URL and address).
EDITABLE = (
    "name",
    "runner_image",
    "root_directory",
    "build_command",
    "pre_deploy_command",
    "start_command",
    "port",
)


class ProjectUpdate(BaseModel):
    """A partial change: the fields left out (None) keep their value."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str | None, Field(max_length=100)] = None
    runner_image: Annotated[str | None, Field(max_length=255)] = None
    root_directory: Annotated[str | None, Field(max_length=255)] = None
    build_command: Annotated[str | None, Field(max_length=4000)] = None
    pre_deploy_command: Annotated[str | None, Field(max_length=4000)] = None
    start_command: Annotated[str | None, Field(max_length=4000)] = None
    port: int | None = None
    #: The health check's fields to change (docs/health-checks.md).
    health_check: health.HealthCheckUpdate | None = None
    #: The runner's memory in MB and its CPUs; null: the server's default.
    memory_mb: int | None = None
    cpus: Annotated[float | None, Field(allow_inf_nan=False)] = None
    #: Build from a Dockerfile, its path and build arguments (docs/builds.md).
    dockerfile: DockerfileUpdate | None = None
    #: Swarm mode: the node label (``zone=eu``) that places the runners; "": spread.
    placement_label: Annotated[str | None, Field(max_length=255)] = None

    @field_validator("placement_label")
    @classmethod
    def _key_value(cls, value: str | None) -> str | None:
        """``key=value`` (spaces around either dropped), or empty."""
        if not value or not value.strip():
            return None if value is None else ""
        constraint = host_label_constraints(value)[0].removeprefix("node.labels.")
        return constraint.replace("==", "=", 1)


class EnvironmentNotFoundError(NotFound, LookupError):
    """No environment of this name (or id) in the project."""

    user_message = "environment not found"


class ProductionEnvironmentError(Conflict, ValueError):
    """Production follows the default branch and is deleted only with the project."""


def current_settings(project: Project) -> dict[str, object]:
    return {name: getattr(project, name) for name in EDITABLE}


def update_project(
    session: Session, *, project: Project, change: ProjectUpdate, settings: Settings
) -> Project:
    """Apply ``change`` after validating the result as a whole (raises pydantic's error;
    limits above the server's maximums raise ``ResourceLimitError``)."""
    merged: dict[str, object] = {
        "name": project.name,
        "slug": project.slug,
        "repo_url": project.repo_url,
        "default_branch": project.default_branch,
        **current_settings(project),
    }
    merged.update(change.model_dump(exclude_none=True, include=set(EDITABLE)))
    dockerfile = change.dockerfile
    from_dockerfile = (
        dockerfile.enabled
        if dockerfile is not None and dockerfile.enabled is not None
        else project.build_from_dockerfile
    )
    # A Dockerfile build may leave the start command empty: the image's CMD starts it.
    image_cmd = from_dockerfile and not str(merged.get("start_command") or "").strip()
    valid = ProjectCreate.model_validate(merged | ({"start_command": "-"} if image_cmd else {}))
    given = change.model_fields_set
    if given & {"memory_mb", "cpus"}:
        resources.set_limits(
            settings,
            project,
            memory_mb=change.memory_mb if "memory_mb" in given else project.memory_mb,
            cpus=change.cpus if "cpus" in given else project.cpus,
        )
    for name in EDITABLE:
        setattr(project, name, getattr(valid, name))
    if image_cmd:
        project.start_command = ""
    if change.health_check is not None:
        health.apply_update(project, change.health_check)
    if dockerfile is not None:
        apply_dockerfile(project, dockerfile)
    if change.placement_label is not None:
        project.placement_label = change.placement_label
    session.flush()
    return project


# Variables ---------------------------------------------------------------------


def find_environment(session: Session, *, project: Project, ref: str) -> Environment:
    environment = session.scalar(
        select(Environment).where(
            Environment.project_id == project.id,
            (Environment.name == ref) | (Environment.id == ref),
        )
    )
    if environment is None:
        raise EnvironmentNotFoundError(ref)
    return environment


def _holder(session: Session, project: Project, scope: str) -> Project | Environment:
    """Where a scope's variables live: the project (shared) or one environment."""
    if scope == SHARED_SCOPE:
        return project
    return find_environment(session, project=project, ref=scope)


def _read(holder: Project | Environment, fernet: Fernet) -> dict[str, str]:
    encrypted = holder.env_vars_encrypted
    return decrypt_mapping(fernet, encrypted) if encrypted else {}


def _write(holder: Project | Environment, fernet: Fernet, values: dict[str, str]) -> None:
    holder.env_vars_encrypted = encrypt_mapping(fernet, values) if values else ""


def variable_names(session: Session, *, project: Project, fernet: Fernet) -> dict[str, list[str]]:
    """Names of the variables per scope: ``shared`` first, then each environment's name."""
    names = {SHARED_SCOPE: sorted(_read(project, fernet))}
    environments = session.scalars(
        select(Environment)
        .where(Environment.project_id == project.id)
        .order_by(Environment.kind, Environment.name)
    )
    for environment in environments:
        names[environment.name] = sorted(_read(environment, fernet))
    return names


def set_variables(
    session: Session, *, project: Project, scope: str, values: dict[str, str], fernet: Fernet
) -> list[str]:
    """Add or replace variables of a scope; the scope's names afterwards."""
    # The same key and count rules as at creation.
    holder = _holder(session, project, scope)
    merged = {**_read(holder, fernet), **values}
    ProjectCreate.model_validate(
        {"name": "x", "repo_url": "/x", "start_command": "x", "env_vars": merged}
    )
    _write(holder, fernet, merged)
    session.flush()
    return sorted(merged)


def unset_variables(
    session: Session, *, project: Project, scope: str, keys: list[str], fernet: Fernet
) -> list[str]:
    """Remove variables of a scope (unknown keys are ignored); the names removed."""
    holder = _holder(session, project, scope)
    values = _read(holder, fernet)
    removed = [key for key in keys if key in values]
    for key in removed:
        del values[key]
    _write(holder, fernet, values)
    session.flush()
    return removed


# Deleting ------------------------------------------------------------------------


def _runner_ids(session: Session, where: ColumnElement[bool]) -> list[str]:
    """Deployments that may have a runner container (started, or about to be)."""
    return list(
        session.scalars(
            select(Deployment.id).where(
                where,
                (Deployment.container_id.is_not(None))
                | Deployment.status.in_((DeploymentStatus.QUEUED, DeploymentStatus.BUILDING)),
            )
        )
    )


def _stop_runners(queue: DeployJobs, deployment_ids: list[str]) -> None:
    for deployment_id in deployment_ids:
        queue.enqueue_stop(deployment_id)


def delete_environment(
    session: Session, *, project: Project, ref: str, queue: DeployJobs
) -> list[str]:
    """Delete a preview environment (by name or id) and its deployments; their runners
    are removed.

    Commits (the worker must not find the rows), then enqueues. Returns the deployment
    ids whose runners are being removed.
    """
    environment = find_environment(session, project=project, ref=ref)
    if environment.kind is EnvironmentKind.PRODUCTION:
        raise ProductionEnvironmentError(
            "production follows the default branch: delete the project instead"
        )
    runner_ids = _runner_ids(session, Deployment.environment_id == environment.id)
    session.execute(delete(Deployment).where(Deployment.environment_id == environment.id))
    session.delete(environment)
    session.commit()
    _stop_runners(queue, runner_ids)
    return runner_ids


def delete_project(session: Session, *, project: Project, queue: DeployJobs) -> list[str]:
    """Delete the project with its environments and deployments; their runners are removed.

    Commits, then enqueues; returns the deployment ids whose runners are being removed.
    """
    runner_ids = _runner_ids(session, Deployment.project_id == project.id)
    session.delete(project)
    session.commit()
    _stop_runners(queue, runner_ids)
    return runner_ids
