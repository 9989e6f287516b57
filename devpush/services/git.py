"""Fetching a branch's newest commit (or a chosen one) with the git command line.

Accepted: ``https://`` URLs, ssh (``git@host:owner/repo.git``, ``ssh://[user@]host[:port]/path``)
and local repositories (a path or ``file://`` URL: any in development, elsewhere only
below ``settings.local_repo_dirs``). Other transports (``ext::``, git://, http://) could
run commands or reach hosts the platform should not touch. Credentials come from
``devpush.services.git_access``.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urlsplit

from devpush.core.config import Settings
from devpush.core.errors import InvalidInput, Unavailable
from devpush.services.git_access import GitCredentials, credentials_env, explain, scrub

# git's rules for a branch name (``git check-ref-format --branch``), checked before any git
# runs: the whole name, then each "/"-separated component.
_BANNED_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_NAME_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda n: not n, "is empty"),
    (lambda n: len(n) > 255, "is longer than 255 characters"),
    (lambda n: n.startswith("-"), 'starts with "-"'),
    (lambda n: n in ("@", "HEAD"), "is reserved by git"),
    (lambda n: bool(_BANNED_CHARS.search(n)), "has a space, control character or one of ~^:?*[\\"),
    (lambda n: ".." in n, 'contains ".."'),
    (lambda n: "@{" in n, 'contains "@{"'),
    (lambda n: n.endswith("."), 'ends with "."'),
    (lambda n: n.startswith("/") or n.endswith("/") or "//" in n, 'has an empty part between "/"'),
)
_PART_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda p: p.startswith("."), 'has a part starting with "."'),
    (lambda p: p.endswith(".lock"), 'has a part ending with ".lock"'),
)

# Protocols git may use, whatever a URL or a redirect asks for.
_GIT_SAFETY = (
    "-c",
    "protocol.allow=never",
    "-c",
    "protocol.https.allow=always",
    "-c",
    "protocol.file.allow=always",
    # No credential helper (the worker user's ~/.gitconfig may name one) stores a token.
    "-c",
    "credential.helper=",
)

PUBLIC = GitCredentials()
_FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")

GIT_TIMEOUT_SECONDS = 300
#: How long a project's creation waits for ``git ls-remote`` to answer.
CHECK_TIMEOUT_SECONDS = 15
# git's error text is shown whole (its last line alone can be "and the repository exists."),
# but bounded: a hostile or chatty server can't fill the page or the row.
_ERROR_MAX_LINES = 12
_ERROR_MAX_CHARS = 1500


class GitError(Unavailable):
    """The repository or branch could not be fetched; ``str()`` is fit to show a user."""


class InvalidBranchError(InvalidInput, ValueError):
    """Not a name git accepts for a branch."""


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    message: str


def branch_problem(name: str) -> str | None:
    """Why git would refuse ``name`` as a branch, or None when it is fine."""
    for broken, reason in _NAME_RULES:
        if broken(name):
            return reason
    for part in name.split("/"):
        for broken, reason in _PART_RULES:
            if broken(part):
                return reason
    return None


def validate_branch(name: str) -> str:
    """``name`` if git accepts it as a branch; else InvalidBranchError saying why."""
    if problem := branch_problem(name):
        raise InvalidBranchError(f"not a valid git branch name: {name!r} {problem}")
    return name


#: The one answer for a local path outside development, whatever is (not) there: the
#: server's filesystem is not for users to probe.
LOCAL_REFUSED = "local paths are not allowed on this server (no git repository devpush can read)"
_SCP_LIKE = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)$"
)
_USER = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]*$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")


@dataclass(frozen=True, slots=True)
class Remote:
    """A repository URL as git will be given it, and the host it reaches."""

    source: str
    kind: str  # "https", "ssh" or "local"
    host: str | None = None
    port: int | None = None


def local_roots(settings: Settings) -> list[Path] | None:
    """Where local repositories may be: None (anywhere) in development."""
    return None if settings.environment == "development" else settings.local_repo_dirs


def parse_remote(url: str, *, roots: Sequence[Path] | None = None) -> Remote:
    """The remote for ``url``, or GitError saying why it is refused.

    ``roots`` None: any local path (development); else a local path must resolve below one.
    """
    if url.startswith("-") or any(c in url for c in "\x00\n\r"):
        raise GitError(f"not a repository URL: {url!r}")
    if url.startswith("https://"):
        parts = urlsplit(url)
        if "@" in parts.netloc:
            raise GitError(
                "the URL holds a user name or password: give the URL without it and put the "
                "access token in the token field"
            )
        if not parts.hostname:
            raise GitError(f"the URL names no host: {url!r}")
        return Remote(source=url, kind="https", host=parts.hostname, port=parts.port)
    if url.startswith("ssh://"):
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError as exc:
            raise GitError(f"bad port in {url!r}") from exc
        user_ok = parts.username is None or _USER.match(parts.username)
        if not _HOST.match(host) or not user_ok or not parts.path.strip("/") or parts.password:
            raise GitError(f"not an ssh repository URL: {url!r}")
        return Remote(source=url, kind="ssh", host=host, port=port)
    if url.startswith("file://") or url.startswith("/"):
        return Remote(source=_local_source(url, roots), kind="local")
    if (scp := _SCP_LIKE.match(url)) and "::" not in url and _HOST.match(scp["host"]):
        return Remote(source=url, kind="ssh", host=scp["host"])
    raise GitError(
        "repository URL must be https://, ssh (git@host:owner/repo.git) or a local path, "
        f"got {url!r}"
    )


def _local_source(url: str, roots: Sequence[Path] | None) -> str:
    path = Path(unquote(urlsplit(url).path)) if url.startswith("file://") else Path(url)
    if url.startswith("file://") and not url.startswith("file:///"):
        raise GitError(f"a file:// URL must name an absolute path, got {url!r}")
    resolved = path.resolve()
    if roots is not None and not any(resolved.is_relative_to(root) for root in roots):
        raise GitError(LOCAL_REFUSED)
    return resolved.as_uri()


def clone_source(url: str, *, roots: Sequence[Path] | None = None) -> str:
    """The URL to hand git: https/ssh kept, a local path turned into ``file://``."""
    return parse_remote(url, roots=roots).source


def error_text(stderr: str) -> str:
    """git's stderr, whole but bounded: the first lines, each stripped, blank ones dropped."""
    lines = [line.strip() for line in stderr.replace("\r", "\n").splitlines() if line.strip()]
    kept = lines[:_ERROR_MAX_LINES]
    text = "\n".join(kept)
    if len(text) > _ERROR_MAX_CHARS:
        text = text[: _ERROR_MAX_CHARS - 1].rstrip() + "…"
    elif len(kept) < len(lines):
        text += f"\n… ({len(lines) - len(kept)} more lines)"
    return text


def _git(
    *args: str,
    cwd: Path | None = None,
    timeout: float = GIT_TIMEOUT_SECONDS,
    credentials: GitCredentials = PUBLIC,
    host: str | None = None,
) -> str:
    with credentials_env(credentials) as secret_env:
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",  # never wait for credentials on a private repo
            "GIT_CONFIG_NOSYSTEM": "1",
            **secret_env,
        }
        try:
            done = subprocess.run(
                ["git", *_GIT_SAFETY, *args],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} took longer than {timeout:g} s") from exc
    if done.returncode != 0:
        stderr = scrub(done.stderr, credentials.secrets)  # defensively: git should not echo them
        detail = error_text(stderr) or f"exit code {done.returncode}"
        if reason := explain(stderr, host=host):
            raise GitError(f"{reason}\n(git {args[0]}: {detail})")
        raise GitError(f"git {args[0]} failed: {detail}")
    return done.stdout


def repository_problem(
    url: str,
    *,
    roots: Sequence[Path] | None = None,
    credentials: GitCredentials = PUBLIC,
) -> str | None:
    """Why ``url`` is not a git repository devpush can fetch, or None when it is one.

    A local path must be a directory holding a repository; a URL must answer
    ``git ls-remote`` within :data:`CHECK_TIMEOUT_SECONDS`. Outside development
    (``roots`` given) every local failure reads the same.
    """
    try:
        remote = parse_remote(url, roots=roots)
    except GitError as exc:
        return str(exc)
    if remote.kind == "local":
        path = Path(unquote(urlsplit(remote.source).path))
        if roots is not None and not (path / "HEAD").exists() and not (path / ".git").exists():
            return LOCAL_REFUSED
        if not path.exists():
            return f"no such directory on the server: {path}"
        if not path.is_dir():
            return f"not a directory: {path}"
    try:
        list_heads(remote, credentials=credentials, timeout=CHECK_TIMEOUT_SECONDS)
    except GitError as exc:
        if remote.kind == "local" and roots is not None:
            return LOCAL_REFUSED
        return f"not a git repository devpush can read: {exc}"
    return None


def list_heads(
    remote: Remote, *, credentials: GitCredentials = PUBLIC, timeout: float = CHECK_TIMEOUT_SECONDS
) -> dict[str, str]:
    """The remote's branches and their head SHAs (``git ls-remote --heads``)."""
    out = _git(
        *_protocols(remote),
        "ls-remote",
        "--heads",
        "--",
        remote.source,
        timeout=timeout,
        credentials=credentials,
        host=remote.host,
    )
    heads = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith("refs/heads/"):
            heads[ref.removeprefix("refs/heads/")] = sha
    return heads


def _protocols(remote: Remote) -> tuple[str, ...]:
    # ssh only for an ssh URL: a redirect or submodule never switches an https fetch to it.
    return ("-c", "protocol.ssh.allow=always") if remote.kind == "ssh" else ()


def fetch_commit(
    *,
    url: str,
    branch: str,
    dest: Path,
    commit: str | None = None,
    roots: Sequence[Path] | None = None,
    credentials: GitCredentials = PUBLIC,
) -> Commit:
    """Fetch ``branch``'s head (or exactly ``commit``) of ``url`` into ``dest`` (not there yet)."""
    validate_branch(branch)
    remote = parse_remote(url, roots=roots)
    run = partial(_git, credentials=credentials, host=remote.host)
    if commit is None:
        run(
            *_protocols(remote),
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--single-branch",
            "--no-tags",
            "--branch",
            branch,
            "--",
            remote.source,
            str(dest),
        )
    else:
        _fetch_exact(run, remote, branch=branch, commit=commit, dest=dest)
    sha = _git("rev-parse", "HEAD", cwd=dest).strip()
    message = _git("log", "-1", "--format=%B", cwd=dest).strip()
    return Commit(sha=sha, message=message)


def _fetch_exact(
    run: Callable[..., str], remote: Remote, *, branch: str, commit: str, dest: Path
) -> None:
    """Fetch ``commit`` by its SHA; when the server refuses that, the branch's history."""
    if not _FULL_SHA.match(commit):
        raise GitError(f"not a full commit SHA: {commit!r}")
    dest.mkdir(parents=True)
    _git("init", "--quiet", cwd=dest)
    protocols = _protocols(remote)
    try:
        run(
            *protocols,
            "fetch",
            "--quiet",
            "--depth",
            "1",
            "--no-tags",
            "--",
            remote.source,
            commit,
            cwd=dest,
        )
    except GitError:
        ref = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
        run(*protocols, "fetch", "--quiet", "--no-tags", "--", remote.source, ref, cwd=dest)
    try:
        _git("checkout", "--quiet", "--detach", commit, cwd=dest)
    except GitError as exc:
        raise GitError(f"commit {commit} is not in the repository (branch {branch})") from exc
