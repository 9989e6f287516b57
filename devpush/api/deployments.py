"""Deployments over the API: detail, redeploy, cancel."""

from __future__ import annotations

from fastapi import APIRouter, status

from devpush.api.schemas import DeploymentPublic
from devpush.deps import ApiDeployment, ApiUser, QueueDep, SessionDep, SettingsDep
from devpush.services import deployments as deploy_service

router = APIRouter(prefix="/deployments", tags=["deployments"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


@router.get("/{deployment_id}", response_model=DeploymentPublic)
def get_deployment(deployment: ApiDeployment, settings: SettingsDep) -> DeploymentPublic:
    return DeploymentPublic.of(deployment, settings)


@router.post(
    "/{deployment_id}/redeploy",
    status_code=status.HTTP_201_CREATED,
    response_model=DeploymentPublic,
)
def redeploy(
    deployment: ApiDeployment,
    user: ApiUser,
    session: SessionDep,
    queue: QueueDep,
    settings: SettingsDep,
) -> DeploymentPublic:
    """A new deployment of the same branch (its newest commit)."""
    new = deploy_service.redeploy(session, deployment=deployment, created_by=user, queue=queue)
    return DeploymentPublic.of(new, settings)


@router.post("/{deployment_id}/cancel", response_model=DeploymentPublic)
def cancel(
    deployment: ApiDeployment, session: SessionDep, queue: QueueDep, settings: SettingsDep
) -> DeploymentPublic:
    """Stop a queued, building or running deployment; an ended one is left as it is."""
    deploy_service.cancel_deployment(session, deployment=deployment, queue=queue)
    return DeploymentPublic.of(deployment, settings)
