"""GitHub: ``X-Hub-Signature-256: sha256=<hex>``; events ``push``, ``delete`` and ``ping``.

A deleted branch arrives twice when both events are subscribed (a push with
``deleted: true`` and a ``delete``): stopping an environment twice is harmless.
"""

from __future__ import annotations

from typing import Any

from devpush.services.webhooks.base import (
    ZERO_SHA,
    BadPayloadError,
    Event,
    EventKind,
    Headers,
    branch_of,
    check_hmac,
    commit_field,
    ignored_ref,
    load_object,
    text_field,
    urls_in,
)

REPO_URL_FIELDS = ("clone_url", "ssh_url", "git_url", "html_url")


def read_push(name: str, data: dict[str, Any], *, repo_urls: tuple[str, ...]) -> Event:
    """A push in GitHub's shape (Gitea and Forgejo send the same): ``ref``, ``after``."""
    ref = text_field(data, "ref")
    branch = branch_of(ref)
    if branch is None:
        return ignored_ref(name, ref)
    after = text_field(data, "after").lower()
    if data.get("deleted") is True or after == ZERO_SHA:
        return Event(kind=EventKind.DELETE, name=name, branch=branch, repo_urls=repo_urls)
    commit = commit_field(data, "after")
    return Event(kind=EventKind.PUSH, name=name, branch=branch, commit=commit, repo_urls=repo_urls)


def read_delete(name: str, data: dict[str, Any], *, repo_urls: tuple[str, ...]) -> Event:
    """A ``delete`` event: ``ref`` is the short name, ``ref_type`` says branch or tag."""
    ref = text_field(data, "ref")
    ref_type = data.get("ref_type")
    if ref_type == "tag":
        return Event(kind=EventKind.IGNORED, name=name, reason="tags are not deployed")
    if ref_type != "branch":
        raise BadPayloadError("'ref_type' must be 'branch' or 'tag'")
    branch = branch_of(ref) or ref
    return Event(kind=EventKind.DELETE, name=name, branch=branch, repo_urls=repo_urls)


def not_used(name: str) -> Event:
    return Event(kind=EventKind.IGNORED, name=name, reason=f"{name or 'this'} events are not used")


class GitHub:
    name = "github"

    def sent(self, headers: Headers) -> bool:
        return "x-github-event" in headers

    def delivery(self, headers: Headers) -> str | None:
        return headers.get("x-github-delivery") or None

    def event_name(self, headers: Headers) -> str:
        return headers.get("x-github-event", "")

    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        check_hmac(headers.get("x-hub-signature-256"), secret=secret, body=body, prefix="sha256=")

    def parse(self, headers: Headers, body: bytes) -> Event:
        name = self.event_name(headers)
        data = load_object(body)
        urls = urls_in(data, "repository", REPO_URL_FIELDS)
        if name == "ping":
            return Event(kind=EventKind.PING, name=name, repo_urls=urls)
        if name == "push":
            return read_push(name, data, repo_urls=urls)
        if name == "delete":
            return read_delete(name, data, repo_urls=urls)
        return not_used(name)
