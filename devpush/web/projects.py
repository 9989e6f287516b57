"""Projects of the current team: list, create, show."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from devpush.deps import FernetDep, SessionDep, WebCtx, WebProject
from devpush.models import Project
from devpush.services import projects as project_service
from devpush.services.project_git import access_pending, checked_token, creation_problem, set_token
from devpush.services.runner_images import image_problem, offered_images
from devpush.web.form_errors import field_errors
from devpush.web.rendering import redirect, render

router = APIRouter(tags=["projects"])

#: Form fields of the new-project page: ProjectCreate's fields, in its order.
_FIELDS = tuple(project_service.ProjectCreate.model_fields)


@router.get("/")
def home(ctx: WebCtx, request: Request) -> Response:
    return redirect(request, "/projects")


@router.get("/projects")
def list_projects(request: Request, ctx: WebCtx, session: SessionDep) -> Response:
    projects = project_service.list_projects(session, team_ids=[ctx.team.id])
    return render(request, "projects/pages/index.html", {"projects": projects})


def _new_form(
    request: Request, values: dict[str, str], errors: dict[str, str], code: int
) -> Response:
    return render(
        request,
        "projects/pages/new.html",
        {"values": values, "errors": errors, "images": offered_images(request.app.state.settings)},
        status_code=code,
    )


@router.get("/projects/new")
def new_project(request: Request, ctx: WebCtx) -> Response:
    values = {
        "default_branch": "main",
        "port": "8000",
        "runner_image": project_service.RUNNER_IMAGE_CHOICES[0],
    }
    return _new_form(request, values, {}, status.HTTP_200_OK)


@router.post("/projects")
async def create_project(
    request: Request, ctx: WebCtx, session: SessionDep, fernet: FernetDep
) -> Response:
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in _FIELDS}
    errors: dict[str, str] = {}
    data: dict[str, object] = {k: v for k, v in values.items() if k != "env_vars"}
    try:
        data["env_vars"] = project_service.parse_env_lines(values["env_vars"])
    except ValueError as exc:
        errors["env_vars"] = str(exc)
    token = str(form.get("git_token", "")).strip() or None
    if token is not None:
        try:
            token = checked_token(token)
        except ValueError as exc:
            errors["repo_url"] = f"access token: {exc}"
    try:
        project_in = project_service.ProjectCreate.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc) | errors
    else:
        # Refused now, with git's reason, rather than at the first deploy.
        settings = request.app.state.settings
        if problem := await run_in_threadpool(
            partial(creation_problem, project_in.repo_url, settings=settings, token=token)
        ):
            errors["repo_url"] = problem
        image = project_in.runner_image
        if problem := await run_in_threadpool(image_problem, image, request.app.state.settings):
            errors["runner_image"] = problem
    if errors:
        return _new_form(request, values, errors, status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        project = project_service.create_project(
            session, team=ctx.team, data=project_in, fernet=fernet
        )
    except project_service.ProjectExistsError as exc:
        return _new_form(request, values, {"slug": str(exc)}, status.HTTP_422_UNPROCESSABLE_CONTENT)
    if token:
        set_token(project, fernet, token=token)
        session.commit()
    if access_pending(project):  # an ssh URL: its deploy key comes first
        return redirect(request, f"/projects/{project.slug}/settings#git")
    return redirect(request, f"/projects/{project.slug}")


def _deployments_context(session: Session, project: Project) -> dict[str, object]:
    deployments = project_service.list_deployments(session, project=project, limit=20)
    return {
        "project": project,
        "deployments": deployments,
        "polling": any(d.status.is_active for d in deployments),
    }


@router.get("/projects/{project_ref}")
def show_project(request: Request, project: WebProject, session: SessionDep) -> Response:
    context = _deployments_context(session, project)
    context["environments"] = project_service.list_environments(session, project=project)
    context["branches"] = project_service.branch_choices(session, project=project)
    return render(request, "projects/pages/show.html", context)


@router.get("/projects/{project_ref}/deployments")
def project_deployments(request: Request, project: WebProject, session: SessionDep) -> Response:
    """The latest deployments; the project page polls this while any of them moves."""
    return render(
        request, "projects/partials/_deployments.html", _deployments_context(session, project)
    )
