"""Request dependencies: settings, the DB session, who is asking, and what they may see.

Ownership is enforced here and only here: ``WebProject``/``ApiProject`` and
``WebDeployment``/``ApiDeployment`` resolve an object inside the caller's teams and
answer 404 for anything else, so a route never checks a team itself. Roles too:
``WebOwnerProject``/``ApiOwnerProject`` (settings, deletion) answer 403 to a member
of the project's team who is not an owner; members deploy and read logs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Protocol

from cryptography.fernet import Fernet
from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from devpush.core.config import Settings
from devpush.core.db import session_scope
from devpush.core.security import CSRF_FORM_FIELD, CSRF_HEADER, csrf_matches
from devpush.log_request import (
    InvalidLogParams,
    LogFilters,
    LogScope,
    build_query,
    problem_for,
    resolve_scope,
)
from devpush.logs.query import Direction, LogQuery
from devpush.logs.store import LogStore
from devpush.models import Deployment, Project, Team, TeamRole, User
from devpush.services import log_download, login_limit
from devpush.services import projects as project_service
from devpush.services.jobs import DeployJobs, DomainJobs, HostDrainJobs
from devpush.services.sessions import session_user_id
from devpush.services.teams import role_in_team, teams_for_user
from devpush.services.tokens import user_for_token

#: Session keys set at log-in.
SESSION_USER = "user_id"
SESSION_TEAM = "team_id"
#: The random key of the server-side sign-in (``devpush.services.sessions``).
SESSION_KEY = "sid"


class LoginRequiredError(Exception):
    """The browser has no valid session: the app answers with a redirect to /login."""


def client_address(request: Request) -> str:
    """The peer's address (behind a proxy: what uvicorn's --proxy-headers made of it)."""
    return request.client.host if request.client is not None else "unknown"


def attempt_login(
    request: Request, session: Session, settings: Settings, *, email: str, password: str
) -> User | None:
    """A log-in from this request, web or API: ``login_limit.attempt_login`` with its
    peer's address and the server's limits (raises LoginLimitedError over them)."""
    return login_limit.attempt_login(
        session,
        email=email,
        password=password,
        address=client_address(request),
        limits=login_limit.LoginLimits.from_settings(settings),
    )


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_fernet(request: Request) -> Fernet:
    fernet: Fernet = request.app.state.fernet
    return fernet


def get_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.sessions) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
FernetDep = Annotated[Fernet, Depends(get_fernet)]
# scope="function": commit before the response leaves, so a redirect never outruns the write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def verify_csrf(request: Request) -> None:
    """Every unsafe request of the web app carries the session's CSRF token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        submitted = value if isinstance(value, str) else None
    if not csrf_matches(request.session, submitted):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or invalid")


def session_max_age(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.session_max_age_seconds)


def current_user(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    # The signed cookie alone is not enough: its sign-in must still exist on the server
    # (logout, a password change or a removal from a team deleted it).
    user_id = request.session.get(SESSION_USER)
    key = request.session.get(SESSION_KEY)
    user = None
    if isinstance(user_id, int) and isinstance(key, str):
        live = session_user_id(session, key=key, max_age=session_max_age(settings))
        user = session.get(User, user_id) if live == user_id else None
    if user is None:
        # Drop the sign-in only: an anonymous visitor's CSRF token (the login form's) stays.
        for name in (SESSION_USER, SESSION_KEY, SESSION_TEAM):
            request.session.pop(name, None)
        raise LoginRequiredError
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


@dataclass(frozen=True, slots=True)
class WebContext:
    """The signed-in user, the team they are working in, and all their teams."""

    user: User
    team: Team
    teams: list[Team]


def web_context(request: Request, user: CurrentUser, session: SessionDep) -> WebContext:
    teams = teams_for_user(session, user_id=user.id)
    if not teams:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this account belongs to no team")
    wanted = request.session.get(SESSION_TEAM)
    team = next((t for t in teams if t.id == wanted), teams[0])
    request.session[SESSION_TEAM] = team.id
    context = WebContext(user=user, team=team, teams=teams)
    request.state.web = context
    return context


WebCtx = Annotated[WebContext, Depends(web_context)]

_bearer = HTTPBearer(auto_error=False, description="An API token (devpush login, or the UI)")


def api_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    user = user_for_token(session, plaintext=credentials.credentials) if credentials else None
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


ApiUser = Annotated[User, Depends(api_user)]


def api_team_ids(user: ApiUser, session: SessionDep) -> list[str]:
    return [team.id for team in teams_for_user(session, user_id=user.id)]


ApiTeamIds = Annotated[list[str], Depends(api_team_ids)]


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def owned_project(session: Session, *, team_ids: list[str], ref: str) -> Project:
    """The one ownership check for projects: outside ``team_ids`` is 404."""
    return project_service.find_project(session, team_ids=team_ids, ref=ref)


def owned_deployment(session: Session, *, team_ids: list[str], deployment_id: str) -> Deployment:
    """The one ownership check for deployments: outside ``team_ids`` is 404."""
    deployment = project_service.find_deployment(
        session, team_ids=team_ids, deployment_id=deployment_id
    )
    if deployment is None:
        raise _not_found("deployment")
    return deployment


def web_project(project_ref: str, ctx: WebCtx, session: SessionDep) -> Project:
    # The web app works in one team at a time: the one picked in the team switcher.
    return owned_project(session, team_ids=[ctx.team.id], ref=project_ref)


def web_deployment(
    deployment_id: str, project: Annotated[Project, Depends(web_project)], session: SessionDep
) -> Deployment:
    deployment = owned_deployment(session, team_ids=[project.team_id], deployment_id=deployment_id)
    if deployment.project_id != project.id:
        raise _not_found("deployment")
    return deployment


def api_project(project_ref: str, team_ids: ApiTeamIds, session: SessionDep) -> Project:
    return owned_project(session, team_ids=team_ids, ref=project_ref)


def api_deployment(deployment_id: str, team_ids: ApiTeamIds, session: SessionDep) -> Deployment:
    return owned_deployment(session, team_ids=team_ids, deployment_id=deployment_id)


WebProject = Annotated[Project, Depends(web_project)]
WebDeployment = Annotated[Deployment, Depends(web_deployment)]
ApiProject = Annotated[Project, Depends(api_project)]
ApiDeployment = Annotated[Deployment, Depends(api_deployment)]

OWNERS_ONLY = "only an owner of the team can change its settings, members or projects"


def require_owner(session: Session, *, user: User, team_id: str) -> None:
    """The one role check: 403 unless ``user`` owns the team (membership is checked first)."""
    if role_in_team(session, user_id=user.id, team_id=team_id) is not TeamRole.OWNER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, OWNERS_ONLY)


def web_owner_project(project: WebProject, ctx: WebCtx, session: SessionDep) -> Project:
    require_owner(session, user=ctx.user, team_id=project.team_id)
    return project


def api_owner_project(project: ApiProject, user: ApiUser, session: SessionDep) -> Project:
    require_owner(session, user=user, team_id=project.team_id)
    return project


#: A project whose settings the caller may change (404 outside their teams, 403 if member).
WebOwnerProject = Annotated[Project, Depends(web_owner_project)]
ApiOwnerProject = Annotated[Project, Depends(api_owner_project)]


def web_owner_team(ctx: WebCtx, session: SessionDep) -> Team:
    """The team picked in the switcher, if the caller owns it (403 otherwise)."""
    require_owner(session, user=ctx.user, team_id=ctx.team.id)
    return ctx.team


WebOwnerTeam = Annotated[Team, Depends(web_owner_team)]


def api_team(team_ref: str, user: ApiUser, session: SessionDep) -> Team:
    """One of the caller's teams by id or slug; any other is 404."""
    team = next(
        (t for t in teams_for_user(session, user_id=user.id) if team_ref in (t.id, t.slug)), None
    )
    if team is None:
        raise _not_found("team")
    return team


ApiTeam = Annotated[Team, Depends(api_team)]


def api_owner_team(team: ApiTeam, user: ApiUser, session: SessionDep) -> Team:
    require_owner(session, user=user, team_id=team.id)
    return team


ApiOwnerTeam = Annotated[Team, Depends(api_owner_team)]

ADMINS_ONLY = "only a server administrator can add users"


def web_admin(ctx: WebCtx) -> User:
    if not ctx.user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, ADMINS_ONLY)
    return ctx.user


def api_admin(user: ApiUser) -> User:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, ADMINS_ONLY)
    return user


WebAdmin = Annotated[User, Depends(web_admin)]
ApiAdmin = Annotated[User, Depends(api_admin)]


class AppJobs(DeployJobs, DomainJobs, HostDrainJobs, Protocol):
    """The app's one queue takes every kind of job; each alias below names the kind its
    routes enqueue."""


def get_queue(request: Request) -> AppJobs:
    """The queue jobs are enqueued on (built from the app's settings in the lifespan)."""
    queue: AppJobs = request.app.state.queue
    return queue


QueueDep = Annotated[DeployJobs, Depends(get_queue)]
#: For the custom-domain jobs (``devpush.services.domains``).
DomainJobsDep = Annotated[DomainJobs, Depends(get_queue)]
#: For the drain job of a swarm host.
DrainJobsDep = Annotated[HostDrainJobs, Depends(get_queue)]


def get_log_store(request: Request) -> LogStore:
    """The configured log store (built in the lifespan over the shared HTTP client)."""
    store: LogStore = request.app.state.log_store
    return store


LogStoreDep = Annotated[LogStore, Depends(get_log_store)]


@dataclass(frozen=True, slots=True)
class LogRequest:
    """A log request of the views or the API: its ownership-checked scope, its filters as
    given (a form shows them back) and the same filters checked, or why they are invalid."""

    scope: LogScope
    params: LogFilters
    filters: LogFilters | InvalidLogParams

    def checked(self) -> LogFilters:
        """The checked filters; raises :class:`InvalidLogParams` (a 422) if they are not valid."""
        if isinstance(self.filters, InvalidLogParams):
            raise self.filters
        return self.filters

    def query(
        self, store: LogStore, *, limit: int = 200, direction: Direction = "backward"
    ) -> LogQuery:
        """The checked filters' query, its range as of now; raises InvalidLogParams or
        InvalidSearch (both 422)."""
        return build_query(
            scope=self.scope,
            filters=self.checked(),
            store=store,
            now_ns=time.time_ns(),
            limit=limit,
            direction=direction,
        )

    async def download(
        self, store: LogStore, settings: Settings, *, fmt: log_download.Format
    ) -> StreamingResponse:
        """Every line of the range, oldest first, streamed as a file (the API's and the
        views' download); raises as :meth:`query` does, and LogStoreError if the store
        refuses before the first chunk."""
        query = self.query(
            store, limit=settings.log_store_max_entries_per_query, direction="forward"
        )
        body = await log_download.body(
            store,
            query,
            fmt=fmt,
            window_lines=settings.log_download_window_lines,
            problem=lambda exc: problem_for(exc).message,
        )
        name = f"{self.scope.project_slug}-logs-{query.start_ns}.{fmt}"
        media = "text/plain; charset=utf-8" if fmt == "txt" else "application/x-ndjson"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return StreamingResponse(body, media_type=media, headers=headers)


def resolve_log_request(
    session: Session, project: Project, params: LogFilters, *, choices: bool = False
) -> LogRequest:
    """Resolve filters inside ``project``: another project's ids are 404, never a wider query."""
    scope = resolve_scope(
        session,
        project=project,
        environment_id=params.environment or None,
        deployment_id=params.deployment or None,
        with_choices=choices,
    )
    try:
        checked: LogFilters | InvalidLogParams = params.checked()
    except InvalidLogParams as exc:
        checked = exc
    return LogRequest(scope=scope, params=params, filters=checked)
