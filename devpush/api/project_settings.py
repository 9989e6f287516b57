"""A project's settings over the API: change, variables per scope, deletions.

Owners only for changes (403 for a member of the team, 404 outside it). Variable
values are write-only: the API returns names, never values.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import ValidationError

from devpush.api.projects import _detail
from devpush.api.schemas import (
    EnvironmentPublic,
    EnvironmentUpdate,
    ProjectDetail,
    VariablesIn,
    VariablesPublic,
)
from devpush.deps import (
    ApiOwnerProject,
    ApiProject,
    FernetDep,
    QueueDep,
    SessionDep,
    SettingsDep,
)
from devpush.services import project_settings as settings_service
from devpush.services import projects as project_service
from devpush.services import replicas as replica_service
from devpush.services.runner_images import image_problem

router = APIRouter(prefix="/projects", tags=["project settings"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


def _unprocessable(exc: ValidationError) -> HTTPException:
    # The same shape as FastAPI's own validation errors (a list of {loc, msg, type}).
    errors = [
        {"loc": ["body", *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, errors)


@router.patch("/{project_ref}", response_model=ProjectDetail)
def update_project(
    body: settings_service.ProjectUpdate,
    project: ApiOwnerProject,
    session: SessionDep,
    fernet: FernetDep,
    settings: SettingsDep,
) -> ProjectDetail:
    """Change the name, commands, root directory, image, port, health check or limits (at
    the next deployment; a running deployment's checks follow the new check at once)."""
    try:
        settings_service.update_project(session, project=project, change=body, settings=settings)
    except ValidationError as exc:
        raise _unprocessable(exc) from exc
    # An image this host cannot run is refused now, not at the next deploy (as at creation).
    if body.runner_image is not None:
        problem = image_problem(project.runner_image, settings)
        if problem:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    return _detail(project, session, fernet)


@router.delete("/{project_ref}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(project: ApiOwnerProject, session: SessionDep, queue: QueueDep) -> None:
    """Delete the project; its runners are stopped and removed by the worker."""
    settings_service.delete_project(session, project=project, queue=queue)


@router.get("/{project_ref}/variables", response_model=VariablesPublic)
def list_variables(project: ApiProject, session: SessionDep, fernet: FernetDep) -> VariablesPublic:
    """Names of the variables per scope: ``shared`` and each environment (values never)."""
    return VariablesPublic(
        scopes=settings_service.variable_names(session, project=project, fernet=fernet)
    )


@router.patch("/{project_ref}/variables/{scope}", response_model=VariablesPublic)
def set_variables(
    scope: str,
    body: VariablesIn,
    project: ApiOwnerProject,
    session: SessionDep,
    fernet: FernetDep,
) -> VariablesPublic:
    """Add or replace variables of a scope (``shared`` or an environment's name)."""
    values = {**project_service.parse_env_lines(body.text), **body.values}
    if not values:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "no variable given")
    try:
        settings_service.set_variables(
            session, project=project, scope=scope, values=values, fernet=fernet
        )
    except ValidationError as exc:
        raise _unprocessable(exc) from exc
    return VariablesPublic(
        scopes=settings_service.variable_names(session, project=project, fernet=fernet)
    )


@router.delete("/{project_ref}/variables/{scope}/{key}", status_code=status.HTTP_204_NO_CONTENT)
def unset_variable(
    scope: str, key: str, project: ApiOwnerProject, session: SessionDep, fernet: FernetDep
) -> None:
    removed = settings_service.unset_variables(
        session, project=project, scope=scope, keys=[key], fernet=fernet
    )
    if not removed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "variable not found")


@router.delete(
    "/{project_ref}/environments/{environment_ref}", status_code=status.HTTP_204_NO_CONTENT
)
def delete_environment(
    environment_ref: str, project: ApiOwnerProject, session: SessionDep, queue: QueueDep
) -> None:
    """Delete a preview environment and its deployments (production: 409)."""
    settings_service.delete_environment(session, project=project, ref=environment_ref, queue=queue)


@router.patch("/{project_ref}/environments/{environment_ref}", response_model=EnvironmentPublic)
def update_environment(
    environment_ref: str,
    body: EnvironmentUpdate,
    project: ApiOwnerProject,
    session: SessionDep,
    settings: SettingsDep,
) -> EnvironmentPublic:
    """Set the environment's replica count (1-10; above 1: swarm mode only, else 409),
    from its next deployment."""
    environment = replica_service.set_replicas(
        session, project=project, ref=environment_ref, replicas=body.replicas, settings=settings
    )
    return EnvironmentPublic.model_validate(environment)
