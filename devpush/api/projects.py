"""Projects over the API: list, detail, create; deployments of a project and deploy."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from devpush.api.schemas import (
    DeploymentPublic,
    DeployRequest,
    EnvironmentPublic,
    ProjectCreateIn,
    ProjectDetail,
    ProjectPublic,
)
from devpush.deps import (
    ApiProject,
    ApiTeamIds,
    ApiUser,
    FernetDep,
    QueueDep,
    SessionDep,
    SettingsDep,
)
from devpush.models import Project
from devpush.services import deployments as deploy_service
from devpush.services import projects as project_service
from devpush.services.project_git import checked_token, creation_problem, set_token
from devpush.services.runner_images import image_problem
from devpush.services.teams import teams_for_user

router = APIRouter(prefix="/projects", tags=["projects"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


def _detail(project: Project, session: SessionDep, fernet: FernetDep) -> ProjectDetail:
    environments = project_service.list_environments(session, project=project)
    names = sorted(project_service.project_env_vars(project, fernet=fernet))
    return ProjectDetail(
        **ProjectPublic.model_validate(project).model_dump(),
        environments=[EnvironmentPublic.model_validate(e) for e in environments],
        env_var_names=names,
    )


@router.get("", response_model=list[ProjectPublic])
def list_projects(team_ids: ApiTeamIds, session: SessionDep) -> list[ProjectPublic]:
    """Projects of every team the token's user belongs to."""
    projects = project_service.list_projects(session, team_ids=team_ids)
    return [ProjectPublic.model_validate(p) for p in projects]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProjectDetail)
def create_project(
    body: ProjectCreateIn,
    user: ApiUser,
    session: SessionDep,
    fernet: FernetDep,
    settings: SettingsDep,
) -> ProjectDetail:
    """Create a project; a repository git can't read or an image the host lacks is a 422."""
    teams = teams_for_user(session, user_id=user.id)
    if body.team is None:
        if len(teams) != 1:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "you belong to several teams: set `team`"
            )
        team = teams[0]
    else:
        named = next((t for t in teams if body.team in (t.id, t.slug)), None)
        if named is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "team not found")
        team = named
    data = project_service.ProjectCreate.model_validate(
        body.model_dump(exclude={"team", "git_token", "git_token_username"})
    )
    try:
        token = checked_token(body.git_token.get_secret_value()) if body.git_token else None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"git_token: {exc}") from exc
    if problem := creation_problem(
        data.repo_url, settings=settings, token=token, token_username=body.git_token_username
    ):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"repo_url: {problem}")
    if problem := image_problem(data.runner_image, settings):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"runner_image: {problem}")
    project = project_service.create_project(session, team=team, data=data, fernet=fernet)
    if token:
        set_token(project, fernet, token=token, username=body.git_token_username)
        session.commit()
    return _detail(project, session, fernet)


@router.get("/{project_ref}", response_model=ProjectDetail)
def get_project(project: ApiProject, session: SessionDep, fernet: FernetDep) -> ProjectDetail:
    """A project by id or slug."""
    return _detail(project, session, fernet)


@router.get("/{project_ref}/deployments", response_model=list[DeploymentPublic])
def list_deployments(
    project: ApiProject, session: SessionDep, settings: SettingsDep, limit: int = 20
) -> list[DeploymentPublic]:
    deployments = project_service.list_deployments(
        session, project=project, limit=max(1, min(limit, 100))
    )
    return [DeploymentPublic.of(d, settings) for d in deployments]


@router.post(
    "/{project_ref}/deployments",
    status_code=status.HTTP_201_CREATED,
    response_model=DeploymentPublic,
)
def deploy(
    project: ApiProject,
    user: ApiUser,
    session: SessionDep,
    queue: QueueDep,
    settings: SettingsDep,
    body: DeployRequest,
) -> DeploymentPublic:
    """Queue a deployment of a branch (default: the project's default branch), at its
    newest commit or at ``commit``."""
    deployment = deploy_service.create_deployment(
        session,
        project=project,
        branch=body.branch,
        commit=body.commit,
        created_by=user,
        queue=queue,
    )
    return DeploymentPublic.of(deployment, settings)
