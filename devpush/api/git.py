"""A project's git access over the API: deploy key, host keys, token, access check, poller.

Reading is for members; changes are for owners (403 for a member, 404 outside the
team). No answer ever holds the private key or the token: ``has_token`` says one is set.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field, SecretStr

from devpush.api.schemas import ApiBody
from devpush.deps import ApiOwnerProject, ApiProject, FernetDep, SessionDep, SettingsDep
from devpush.services import project_git
from devpush.services.git_access import HostKeyError

router = APIRouter(prefix="/projects", tags=["git access"])


class HostKeyPublic(BaseModel):
    host: str
    key_type: str
    fingerprint: str


class GitAccessPublic(BaseModel):
    repo_url: str
    auth: Literal["none", "deploy_key", "token"]
    #: Paste it into the forge's deploy keys (read access is enough).
    deploy_key_public: str | None
    host_keys: list[HostKeyPublic]
    has_token: bool
    token_username: str
    #: Seconds between two polls of the repository; None: the poller is off.
    poll_interval_seconds: int | None


class DeployKeyPublic(BaseModel):
    deploy_key_public: str


class TokenIn(ApiBody):
    token: SecretStr = Field(min_length=1, max_length=project_git.TOKEN_MAX_CHARS)
    #: Left out: the forge's usual one (x-access-token for GitHub, oauth2 for GitLab).
    username: str = Field(default="", max_length=100)


class KnownHostsIn(ApiBody):
    #: known_hosts lines, as ``ssh-keyscan`` prints them or the forge documents them.
    known_hosts: str = Field(min_length=1, max_length=20_000)


class PollIn(ApiBody):
    #: None turns the poller off.
    interval_seconds: int | None = Field(default=None, gt=0, le=7 * 24 * 3600)


class CheckPublic(BaseModel):
    ok: bool
    problem: str | None


def _public(project: ApiProject) -> GitAccessPublic:
    view = project_git.access_view(project)
    return GitAccessPublic(
        repo_url=view.repo_url,
        auth=view.auth,
        deploy_key_public=view.deploy_key_public,
        host_keys=[
            HostKeyPublic(host=k.host, key_type=k.key_type, fingerprint=k.fingerprint)
            for k in view.host_keys
        ],
        has_token=view.has_token,
        token_username=view.token_username,
        poll_interval_seconds=project.poll_interval_seconds,
    )


@router.get("/{project_ref}/git", response_model=GitAccessPublic)
def show(project: ApiProject) -> GitAccessPublic:
    """How devpush reads the repository (never a secret)."""
    return _public(project)


@router.post(
    "/{project_ref}/git/deploy-key",
    status_code=status.HTTP_201_CREATED,
    response_model=DeployKeyPublic,
)
def deploy_key(project: ApiOwnerProject, session: SessionDep, fernet: FernetDep) -> DeployKeyPublic:
    """A new SSH deploy key (the previous one stops working): add its public half to the forge."""
    public = project_git.make_deploy_key(project, fernet)
    session.commit()
    return DeployKeyPublic(deploy_key_public=public)


@router.put("/{project_ref}/git/token", response_model=GitAccessPublic)
def set_token(
    body: TokenIn, project: ApiOwnerProject, session: SessionDep, fernet: FernetDep
) -> GitAccessPublic:
    """Store an HTTPS access token (write-only: answers say ``has_token``)."""
    project_git.set_token(
        project, fernet, token=body.token.get_secret_value(), username=body.username
    )
    session.commit()
    return _public(project)


@router.delete("/{project_ref}/git/token", status_code=status.HTTP_204_NO_CONTENT)
def unset_token(project: ApiOwnerProject, session: SessionDep) -> Response:
    project_git.clear_token(project)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{project_ref}/git/host-keys", response_model=GitAccessPublic)
def set_host_keys(
    body: KnownHostsIn, project: ApiOwnerProject, session: SessionDep
) -> GitAccessPublic:
    """Pin the host keys given (known_hosts lines), replacing the pinned ones."""
    try:
        project_git.set_known_hosts(project, body.known_hosts)
    except HostKeyError as exc:  # named after the body's field
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"known_hosts: {exc}") from exc
    session.commit()
    return _public(project)


@router.post("/{project_ref}/git/host-keys/pin", response_model=GitAccessPublic)
def pin_host_keys(project: ApiOwnerProject, session: SessionDep) -> GitAccessPublic:
    """Pin the keys the repository's ssh host shows now (check the fingerprints!)."""
    project_git.pin_host_keys(project)
    session.commit()
    return _public(project)


@router.post("/{project_ref}/git/check", response_model=CheckPublic)
def check(
    project: ApiProject, session: SessionDep, fernet: FernetDep, settings: SettingsDep
) -> CheckPublic:
    """Can devpush read the repository with the project's credentials? Why not, if not.

    An ssh host met for the first time has its keys pinned."""
    problem = project_git.check_access(project, fernet, settings)
    session.commit()
    return CheckPublic(ok=problem is None, problem=problem)


@router.put("/{project_ref}/git/poll", response_model=GitAccessPublic)
def set_poll(
    body: PollIn, project: ApiOwnerProject, session: SessionDep, settings: SettingsDep
) -> GitAccessPublic:
    """Poll the repository every ``interval_seconds`` (None: stop polling)."""
    project_git.set_poll_interval(project, body.interval_seconds, settings=settings)
    session.commit()
    return _public(project)
