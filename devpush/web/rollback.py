"""Rollback in the web app: confirm and roll back to a deployment's kept build; resume
auto-deploys. Any member may, as any member may deploy (docs/rollback.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from devpush.deps import QueueDep, SessionDep, WebCtx, WebDeployment, WebProject
from devpush.services import rollback as rollback_service
from devpush.services.project_settings import find_environment
from devpush.web.rendering import redirect, render

router = APIRouter(tags=["rollback"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


@router.get("/projects/{project_ref}/deployments/{deployment_id}/rollback")
def confirm_rollback(request: Request, deployment: WebDeployment, session: SessionDep) -> Response:
    """The confirmation: what runs again, and that pushes stop deploying until resumed."""
    current = rollback_service.serving(session, deployment.environment_id)
    return render(
        request,
        "rollback/pages/confirm.html",
        {"deployment": deployment, "current": current},
    )


@router.post("/projects/{project_ref}/deployments/{deployment_id}/rollback")
def rollback(
    request: Request,
    ctx: WebCtx,
    project: WebProject,
    deployment: WebDeployment,
    session: SessionDep,
    queue: QueueDep,
) -> Response:
    new = rollback_service.rollback(
        session, project=project, target=deployment, created_by=ctx.user, queue=queue
    )
    return redirect(request, f"/projects/{project.slug}/deployments/{new.id}")


@router.post("/projects/{project_ref}/environments/{environment_ref}/resume")
def resume_auto_deploys(
    request: Request, project: WebProject, environment_ref: str, session: SessionDep
) -> Response:
    environment = find_environment(session, project=project, ref=environment_ref)
    rollback_service.resume_auto_deploys(session, environment)
    return redirect(request, f"/projects/{project.slug}")
