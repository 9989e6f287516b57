"""The forges' pure parts: which forge sent a call, and one repository's many addresses."""

from __future__ import annotations

import pytest

from devpush.services.webhooks import FORGES, detect_forge
from devpush.services.webhooks.repo_urls import normalise, same_repository


@pytest.mark.parametrize(
    ("headers", "forge"),
    [
        ({"x-github-event": "push"}, "github"),
        ({"x-gitlab-event": "Push Hook"}, "gitlab"),
        ({"x-github-event": "push", "x-gitea-event": "push"}, "gitea"),
        ({"x-github-event": "push", "x-gitea-event": "push", "x-forgejo-event": "push"}, "forgejo"),
        ({"x-devpush-signature": "sha256=00"}, "generic"),
        ({"content-type": "application/json"}, None),
    ],
)
def test_detect_forge(headers: dict[str, str], forge: str | None) -> None:
    found = detect_forge(headers)
    assert (found.name if found else None) == forge
    assert forge is None or FORGES[forge] is found


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/octo/app.git",
        "https://GitHub.com/octo/app",
        "http://github.com/octo/app/",
        "git@github.com:octo/app.git",
        "ssh://git@github.com/octo/app.git",
        "ssh://git@github.com:22/octo/app",
        "git://github.com/octo/app.git",
        "https://user@github.com/octo/app.git",
    ],
)
def test_one_repository_many_addresses(url: str) -> None:
    assert normalise(url) == "github.com/octo/app"


def test_other_repositories_differ() -> None:
    assert not same_repository("https://github.com/octo/app", ["https://github.com/octo/other"])
    assert not same_repository("https://github.com/octo/app", ["https://gitlab.com/octo/app"])
    assert not same_repository("https://github.com/octo/app", [])
    assert same_repository("/srv/git/app.git", ["/srv/git/app"])
