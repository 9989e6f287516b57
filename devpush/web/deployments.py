"""Deployments in the web app: deploy a branch, watch one, redeploy, cancel."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from devpush.core.config import Settings
from devpush.deps import QueueDep, SessionDep, SettingsDep, WebCtx, WebDeployment, WebProject
from devpush.logs.render import render_line
from devpush.models import Deployment
from devpush.services import deployments as deploy_service
from devpush.web.forms import BranchField, CommitField
from devpush.web.rendering import redirect, render

_FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
router = APIRouter(tags=["deployments"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


def _url(deployment: Deployment) -> str:
    return f"/projects/{deployment.project.slug}/deployments/{deployment.id}"


def _context(deployment: Deployment, settings: Settings) -> dict[str, object]:
    """The deployment, and its failure record's lines as safe HTML (they are untrusted)."""
    failure = deployment.failure
    lines = failure.lines if failure is not None else []
    return {
        "deployment": deployment,
        "failure": failure,
        "failure_lines": [
            render_line(line, max_chars=settings.log_line_max_chars) for line in lines
        ],
    }


@router.post("/projects/{project_ref}/deployments")
def deploy(
    request: Request,
    ctx: WebCtx,
    project: WebProject,
    session: SessionDep,
    queue: QueueDep,
    branch: BranchField = "",
    commit: CommitField = "",
) -> Response:
    commit = commit.strip().lower()
    if commit and not _FULL_SHA.match(commit):  # a chosen commit: the full SHA only
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "commit: give the full 40-character SHA"
        )
    deployment = deploy_service.create_deployment(
        session,
        project=project,
        branch=branch.strip() or None,
        commit=commit or None,
        created_by=ctx.user,
        queue=queue,
    )
    return redirect(request, _url(deployment))


@router.get("/projects/{project_ref}/deployments/{deployment_id}")
def show_deployment(request: Request, deployment: WebDeployment, settings: SettingsDep) -> Response:
    return render(request, "deployments/pages/show.html", _context(deployment, settings))


@router.get("/projects/{project_ref}/deployments/{deployment_id}/status")
def deployment_status(
    request: Request, deployment: WebDeployment, settings: SettingsDep
) -> Response:
    """The status panel; the deployment page polls it while the deployment moves."""
    return render(request, "deployments/partials/_status.html", _context(deployment, settings))


@router.post("/projects/{project_ref}/deployments/{deployment_id}/redeploy")
def redeploy(
    request: Request, ctx: WebCtx, deployment: WebDeployment, session: SessionDep, queue: QueueDep
) -> Response:
    new = deploy_service.redeploy(session, deployment=deployment, created_by=ctx.user, queue=queue)
    return redirect(request, _url(new))


@router.post("/projects/{project_ref}/deployments/{deployment_id}/cancel")
def cancel(
    request: Request, deployment: WebDeployment, session: SessionDep, queue: QueueDep
) -> Response:
    deploy_service.cancel_deployment(session, deployment=deployment, queue=queue)
    return redirect(request, _url(deployment))
