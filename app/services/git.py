"""Fetching a branch's newest commit with the git command line.

Only ``https://`` URLs and local repositories (a path or ``file://`` URL, for
development) are accepted: other transports (``ext::``, ssh, git://) could run
commands or reach hosts the platform should not touch.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

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
)

GIT_TIMEOUT_SECONDS = 300
#: How long a project's creation waits for ``git ls-remote`` to answer.
CHECK_TIMEOUT_SECONDS = 15
# git's error text is shown whole (its last line alone can be "and the repository exists."),
# but bounded: a hostile or chatty server can't fill the page or the row.
_ERROR_MAX_LINES = 12
_ERROR_MAX_CHARS = 1500


class GitError(Exception):
    """The repository or branch could not be fetched; ``str()`` is fit to show a user."""


class InvalidBranchError(ValueError):
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


def clone_source(url: str) -> str:
    """The URL to hand git: https kept, a local path turned into ``file://`` (so --depth works)."""
    if url.startswith("https://") or url.startswith("file:///"):
        return url
    if url.startswith("/"):
        return Path(url).resolve().as_uri()
    raise GitError(f"repository URL must be https:// or a local path, got {url!r}")


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


def _git(*args: str, cwd: Path | None = None, timeout: float = GIT_TIMEOUT_SECONDS) -> str:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",  # never wait for credentials on a private repo
        "GIT_CONFIG_NOSYSTEM": "1",
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
        detail = error_text(done.stderr) or f"exit code {done.returncode}"
        raise GitError(f"git {args[0]} failed: {detail}")
    return done.stdout


def repository_problem(url: str) -> str | None:
    """Why ``url`` is not a git repository devpush can fetch, or None when it is one.

    A local path must be a directory holding a repository; a URL must answer
    ``git ls-remote`` within :data:`CHECK_TIMEOUT_SECONDS`.
    """
    try:
        source = clone_source(url)
    except GitError as exc:
        return str(exc)
    if source.startswith("file://"):
        path = Path(unquote(urlsplit(source).path))
        if not path.exists():
            return f"no such directory on the server: {path}"
        if not path.is_dir():
            return f"not a directory: {path}"
    try:
        _git("ls-remote", "--heads", "--", source, timeout=CHECK_TIMEOUT_SECONDS)
    except GitError as exc:
        return f"not a git repository devpush can read: {exc}"
    return None


def fetch_commit(*, url: str, branch: str, dest: Path) -> Commit:
    """Shallow-clone ``branch`` of ``url`` into ``dest`` (which must not exist yet)."""
    validate_branch(branch)
    _git(
        "clone",
        "--quiet",
        "--depth",
        "1",
        "--single-branch",
        "--no-tags",
        "--branch",
        branch,
        "--",
        clone_source(url),
        str(dest),
    )
    sha = _git("rev-parse", "HEAD", cwd=dest).strip()
    message = _git("log", "-1", "--format=%B", cwd=dest).strip()
    return Commit(sha=sha, message=message)
