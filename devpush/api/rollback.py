"""Rollback over the API: run an earlier deployment's kept build again; resume auto-deploys.

Any member of the project's team may roll back, as any member may deploy: a rollback
only runs a build that already served, and a deploy can always undo it.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from devpush.api.schemas import DeploymentPublic, EnvironmentPublic, RollbackRequest
from devpush.deps import ApiProject, ApiUser, QueueDep, SessionDep, SettingsDep
from devpush.models import Deployment
from devpush.services import rollback as rollback_service
from devpush.services.environments import ensure_production_environment
from devpush.services.project_settings import find_environment

router = APIRouter(prefix="/projects", tags=["rollback"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


@router.post(
    "/{project_ref}/rollback",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeploymentPublic,
)
def rollback(
    project: ApiProject,
    user: ApiUser,
    session: SessionDep,
    queue: QueueDep,
    settings: SettingsDep,
    body: RollbackRequest,
) -> DeploymentPublic:
    """Queue a rollback to a deployment's kept build (no rebuild); pauses its environment's
    auto-deploys. 404: not the project's; 409: it never ran, its build is gone, or it
    already serves."""
    if body.deployment_id is None:
        production = ensure_production_environment(session, project=project)
        target = rollback_service.default_target(session, production)
        if target is None:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "no earlier deployment with a kept build to roll back to",
            )
    else:
        found = session.get(Deployment, body.deployment_id)
        if found is None or found.project_id != project.id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "deployment not found")
        target = found
    deployment = rollback_service.rollback(
        session, project=project, target=target, created_by=user, queue=queue
    )
    return DeploymentPublic.of(deployment, settings)


@router.post(
    "/{project_ref}/environments/{environment_ref}/resume", response_model=EnvironmentPublic
)
def resume_auto_deploys(
    environment_ref: str, project: ApiProject, session: SessionDep
) -> EnvironmentPublic:
    """Pushes deploy the environment again (a rollback paused them)."""
    environment = find_environment(session, project=project, ref=environment_ref)
    rollback_service.resume_auto_deploys(session, environment)
    return EnvironmentPublic.model_validate(environment)
