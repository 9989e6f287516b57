"""Fetching a branch from a real git repository made in a temp dir."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.services.git import (
    GitError,
    InvalidBranchError,
    clone_source,
    fetch_commit,
    validate_branch,
)
from tests.utils.git import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "a.txt").write_text("one")
    git(path, "add", "a.txt")
    git(path, "commit", "-q", "-m", "First")
    git(path, "checkout", "-q", "-b", "feature/two")
    (path / "a.txt").write_text("two")
    git(path, "commit", "-q", "-am", "Second\n\nwith a body")
    git(path, "checkout", "-q", "main")
    return path


def test_fetches_the_branch_head_from_a_local_path(repo: Path, tmp_path: Path) -> None:
    commit = fetch_commit(url=str(repo), branch="feature/two", dest=tmp_path / "out")
    assert commit.sha == git(repo, "rev-parse", "feature/two")
    assert commit.message == "Second\n\nwith a body"
    assert (tmp_path / "out" / "a.txt").read_text() == "two"
    # Shallow: only the one commit.
    assert git(tmp_path / "out", "rev-list", "--count", "HEAD") == "1"


def test_fetches_from_a_file_url(repo: Path, tmp_path: Path) -> None:
    commit = fetch_commit(url=repo.as_uri(), branch="main", dest=tmp_path / "out")
    assert commit.message == "First"


def test_missing_branch_is_a_git_error(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="git clone failed"):
        fetch_commit(url=str(repo), branch="nope", dest=tmp_path / "out")


@pytest.mark.parametrize(
    "url", ["ext::sh -c touch% /tmp/pwned", "git://example.invalid/x", "ssh://h/x", "relative/path"]
)
def test_only_https_and_local_repositories(url: str) -> None:
    with pytest.raises(GitError, match="https:// or a local path"):
        clone_source(url)


INVALID_BRANCHES = [
    "", "-x", "a..b", "a b", "a~1", "a:b", "x.lock", "a/", "/a", "@", "a@{1}", "a//b",
    "a/.x", "foo.lock/bar", "a/./b", ".a", "a.", "a/b.", "a/..", "HEAD", "a\tb", "a\\b",
    "a^b", "a?", "a*", "a[b", "a\x7fb", ".lock", "a/b.lock/c", "@{", "x" * 256,
]  # fmt: skip
VALID_BRANCHES = [
    "main", "feature/x-1", "release_2.0", "user@host", "a/-b", "x@", "é", "a.lock.b",
    "a./b", "a{b", "!x", "x" * 255,
]  # fmt: skip


@pytest.mark.parametrize("name", INVALID_BRANCHES)
def test_invalid_branch_names(name: str) -> None:
    with pytest.raises(InvalidBranchError, match="not a valid git branch name"):
        validate_branch(name)


@pytest.mark.parametrize("name", VALID_BRANCHES)
def test_valid_branch_names(name: str) -> None:
    assert validate_branch(name) == name


@pytest.mark.parametrize(
    "name", [n for n in INVALID_BRANCHES + VALID_BRANCHES if n != "@" and len(n) <= 255]
)
def test_git_itself_agrees(name: str) -> None:
    # Ours, not git's: "@" (HEAD to `--branch`; git won't create it) and the column's 255.
    done = subprocess.run(
        ["git", "check-ref-format", "--branch", name], capture_output=True, check=False
    )
    assert (done.returncode == 0) == (name in VALID_BRANCHES), done.stderr


def test_the_message_says_why() -> None:
    with pytest.raises(InvalidBranchError) as caught:
        validate_branch("a/.x")
    assert (
        str(caught.value)
        == """not a valid git branch name: 'a/.x' has a part starting with \".\""""
    )
