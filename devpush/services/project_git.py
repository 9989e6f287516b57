"""A project's git access: its deploy key, pinned host keys and token, and the access check.

The secrets are stored encrypted (the Fernet of ``devpush.core.crypto``) and leave this
module only as ``GitCredentials`` for a git command; what users see is ``GitAccess``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from cryptography.fernet import Fernet, InvalidToken

from devpush.core.config import Settings
from devpush.core.crypto import DecryptionError
from devpush.core.errors import InvalidInput
from devpush.models import Project
from devpush.services.git import GitError, Remote, local_roots, parse_remote, repository_problem
from devpush.services.git_access import (
    GitCredentials,
    HostKey,
    HostKeyError,
    default_token_username,
    generate_deploy_key,
    known_hosts_name,
    parse_known_hosts,
    scan_host_keys,
)

#: The longest token devpush stores (forges' tokens are far shorter).
TOKEN_MAX_CHARS = 4096


@dataclass(frozen=True, slots=True)
class GitAccess:
    """What a user may see of a project's git access (never a secret)."""

    repo_url: str
    kind: str  # "https", "ssh", "local" (or "" for a URL no longer accepted)
    auth: Literal["none", "deploy_key", "token"]
    deploy_key_public: str | None
    host_keys: list[HostKey]
    has_token: bool
    token_username: str


def access_view(project: Project) -> GitAccess:
    try:
        host_keys = parse_known_hosts(project.ssh_known_hosts)
    except HostKeyError:
        host_keys = []
    try:
        kind = parse_remote(project.repo_url).kind
    except GitError:
        kind = ""
    auth: Literal["none", "deploy_key", "token"] = "none"
    if kind == "ssh" and project.deploy_key_public:
        auth = "deploy_key"
    elif project.git_token_encrypted:
        auth = "token"
    return GitAccess(
        repo_url=project.repo_url,
        kind=kind,
        auth=auth,
        deploy_key_public=project.deploy_key_public,
        host_keys=host_keys,
        has_token=project.git_token_encrypted is not None,
        token_username=project.git_token_username,
    )


def _is_ssh(project: Project) -> bool:
    try:
        return parse_remote(project.repo_url).kind == "ssh"
    except GitError:
        return False


def _decrypt(fernet: Fernet, ciphertext: str) -> str:
    try:
        return fernet.decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("the git credentials do not decrypt: secret key changed?") from exc


class StoredGitCredentials(Protocol):
    """A project's git credentials as stored, encrypted: its row, or a deploy job's copy."""

    @property
    def deploy_key_private_encrypted(self) -> str | None: ...
    @property
    def ssh_known_hosts(self) -> str: ...
    @property
    def git_token_encrypted(self) -> str | None: ...
    @property
    def git_token_username(self) -> str: ...


def project_credentials(stored: StoredGitCredentials, fernet: Fernet) -> GitCredentials:
    """The credentials a git command gets, from a project's stored columns."""
    key, token = stored.deploy_key_private_encrypted, stored.git_token_encrypted
    return GitCredentials(
        private_key=_decrypt(fernet, key) if key else None,
        known_hosts=stored.ssh_known_hosts,
        token=_decrypt(fernet, token) if token else None,
        token_username=stored.git_token_username,
    )


def make_deploy_key(project: Project, fernet: Fernet) -> str:
    """A new deploy key for ``project`` (the old one stops working); its public line."""
    public, private = generate_deploy_key(f"devpush-{project.slug}")
    project.deploy_key_public = public
    project.deploy_key_private_encrypted = fernet.encrypt(private.encode()).decode()
    return public


def checked_token(token: str) -> str:
    """``token`` stripped; InvalidInput (fit to show) unless it is one word of sane length."""
    token = token.strip()
    if not token or len(token) > TOKEN_MAX_CHARS or any(c.isspace() for c in token):
        raise InvalidInput("the token must be one word of at most 4096 characters")
    return token


def set_token(project: Project, fernet: Fernet, *, token: str, username: str = "") -> None:
    """Store an HTTPS access token; InvalidInput (fit to show) for an unusable one."""
    token = checked_token(token)
    username = username.strip()
    if len(username) > 100 or any(c.isspace() or c in ":@" for c in username):
        raise InvalidInput("the token's user name must be one word without ':' or '@'")
    if not username:
        try:
            host = parse_remote(project.repo_url).host or ""
        except GitError:
            host = ""
        username = default_token_username(host)
    project.git_token_encrypted = fernet.encrypt(token.encode()).decode()
    project.git_token_username = username


def clear_token(project: Project) -> None:
    project.git_token_encrypted = None
    project.git_token_username = ""


def set_known_hosts(project: Project, text: str) -> list[HostKey]:
    """Pin the host keys a user pasted (known_hosts lines); HostKeyError if malformed."""
    keys = parse_known_hosts(text)
    if not keys:
        raise HostKeyError("no known_hosts line given")
    project.ssh_known_hosts = "\n".join(line.strip() for line in text.splitlines()) + "\n"
    return keys


def _ssh_remote(project: Project) -> Remote:
    remote = parse_remote(project.repo_url)
    if remote.kind != "ssh" or remote.host is None:
        raise HostKeyError("host keys are only for ssh repository URLs")
    return remote


def pin_host_keys(project: Project) -> list[HostKey]:
    """Pin the keys the repository's ssh host shows now (trust on first use)."""
    remote = _ssh_remote(project)
    project.ssh_known_hosts = scan_host_keys(remote.host or "", remote.port)
    return parse_known_hosts(project.ssh_known_hosts)


def access_pending(project: Project) -> str | None:
    """Why checking access now makes no sense yet (an ssh URL without a deploy key)."""
    if _is_ssh(project) and not project.deploy_key_public:
        return (
            "generate a deploy key in Settings → Git, add it to the repository's deploy keys, "
            "then press Check access"
        )
    return None


def check_access(project: Project, fernet: Fernet, settings: Settings) -> str | None:
    """Why devpush cannot read the repository with the project's credentials, or None.

    An ssh host met for the first time gets its keys pinned (trust on first use).
    """
    if pending := access_pending(project):
        return pending
    if _is_ssh(project) and not project.ssh_known_hosts.strip():
        try:
            pin_host_keys(project)
        except HostKeyError as exc:
            remote = parse_remote(project.repo_url)
            where = known_hosts_name(remote.host or "", remote.port)
            return f"unknown host or no ssh server at {where}: {exc}"
    try:
        credentials = project_credentials(project, fernet)
    except DecryptionError as exc:
        return str(exc)
    return repository_problem(
        project.repo_url, roots=local_roots(settings), credentials=credentials
    )


def set_poll_interval(project: Project, seconds: int | None, *, settings: Settings) -> None:
    """Turn the poller on (every ``seconds``) or off (None); InvalidInput below the minimum."""
    minimum = settings.poll_min_interval_seconds
    if seconds is not None and seconds < minimum:
        raise InvalidInput(f"the poll interval must be at least {minimum} seconds on this server")
    if seconds != project.poll_interval_seconds:
        project.polled_at = None  # due at once, and the first poll only records the heads
        project.polled_heads = None
    project.poll_interval_seconds = seconds


def creation_problem(
    url: str, *, settings: Settings, token: str | None = None, token_username: str = ""
) -> str | None:
    """Why a new project cannot read ``url``; None also for an ssh URL (it has no key yet:
    the project is made, then its deploy key is added and the access checked)."""
    try:
        remote = parse_remote(url, roots=local_roots(settings))
    except GitError as exc:
        return str(exc)
    if remote.kind == "ssh":
        return None
    credentials = GitCredentials(
        token=token, token_username=token_username or default_token_username(remote.host or "")
    )
    return repository_problem(url, roots=local_roots(settings), credentials=credentials)
