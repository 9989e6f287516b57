"""Fetching a branch from a real git repository made in a temp dir."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from devpush.core.config import Settings
from devpush.services.git import (
    LOCAL_REFUSED,
    GitError,
    InvalidBranchError,
    clone_source,
    fetch_commit,
    list_heads,
    local_roots,
    parse_remote,
    repository_problem,
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
    "url",
    [
        "ext::sh -c touch% /tmp/pwned",
        "git://example.invalid/x",
        "http://example.com/x.git",
        "relative/path",
        "-uhelp",
        "--upload-pack=touch /tmp/x",
        "-oProxyCommand=x:y",
        "ssh://-oProxyCommand=x/y",
        "ssh://-oProxyCommand=x@host/y",
        "-oProxyCommand=x@host:y",
        "git@-oProxyCommand=x:y",
        "ssh://h/",
        "file://host/x",
    ],
)
def test_refused_repository_urls(url: str) -> None:
    with pytest.raises(GitError):
        clone_source(url)


@pytest.mark.parametrize(
    ("url", "kind", "host", "port"),
    [
        ("https://github.com/o/r.git", "https", "github.com", None),
        ("git@github.com:o/r.git", "ssh", "github.com", None),
        ("github.com:o/r", "ssh", "github.com", None),
        ("ssh://git@gitlab.example:2222/o/r.git", "ssh", "gitlab.example", 2222),
        ("ssh://127.0.0.1/srv/r.git", "ssh", "127.0.0.1", None),
    ],
)
def test_accepted_remote_urls(url: str, kind: str, host: str, port: int | None) -> None:
    remote = parse_remote(url)
    assert (remote.source, remote.kind, remote.host, remote.port) == (url, kind, host, port)


def test_userinfo_in_an_https_url_points_to_the_token_field() -> None:
    with pytest.raises(GitError, match="token field"):
        parse_remote("https://me:secret@github.com/o/r.git")


def test_local_paths_outside_development_only_below_the_roots(repo: Path, tmp_path: Path) -> None:
    roots = [tmp_path.resolve()]
    assert parse_remote(str(repo), roots=roots).kind == "local"
    assert repository_problem(str(repo), roots=roots) is None
    other = [(tmp_path / "elsewhere").resolve()]
    (tmp_path / "plain").mkdir()
    (tmp_path / "file").write_text("x")
    # One answer for a refused, missing, plain or non-directory path: nothing to probe.
    answers = {
        repository_problem(str(path), roots=r)
        for path, r in [
            (repo, other),
            (repo.as_uri(), other),
            (tmp_path / "missing", roots),
            (tmp_path / "plain", roots),
            (tmp_path / "file", roots),
            (repo / ".." / ".." / "..", roots),
        ]
    }
    assert answers == {LOCAL_REFUSED}


def test_local_roots_only_outside_development(tmp_path: Path) -> None:
    assert local_roots(Settings(environment="development")) is None
    prod = Settings(
        environment="production", local_repo_roots=f"{tmp_path}:", secret_key=SecretStr("k" * 40)
    )
    assert local_roots(prod) == [tmp_path.resolve()]


def test_fetches_a_chosen_older_commit(repo: Path, tmp_path: Path) -> None:
    older = git(repo, "rev-parse", "main")
    (repo / "a.txt").write_text("newer")
    git(repo, "commit", "-q", "-am", "Newer")
    commit = fetch_commit(url=str(repo), branch="main", commit=older, dest=tmp_path / "out")
    assert commit.sha == older
    assert (tmp_path / "out" / "a.txt").read_text() == "one"


def test_a_missing_commit_says_so(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="is not in the repository"):
        fetch_commit(url=str(repo), branch="main", commit="0" * 40, dest=tmp_path / "out")


def test_list_heads(repo: Path) -> None:
    heads = list_heads(parse_remote(str(repo)))
    assert heads == {
        "main": git(repo, "rev-parse", "main"),
        "feature/two": git(repo, "rev-parse", "feature/two"),
    }


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


def test_a_server_refusing_a_fetch_by_sha_falls_back_to_the_branch(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Protocol v0 without uploadpack.allowReachableSHA1InWant: an older commit, not a
    # branch tip, may not be asked for by its SHA.
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "protocol.version")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "0")
    older = git(repo, "rev-parse", "main")
    (repo / "a.txt").write_text("newer")
    git(repo, "commit", "-q", "-am", "Newer")
    commit = fetch_commit(url=str(repo), branch="main", commit=older, dest=tmp_path / "out")
    assert commit.sha == older
