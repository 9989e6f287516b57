"""GitLab: ``X-Gitlab-Token`` is the secret itself (compared in constant time);
``Push Hook`` deploys, ``Tag Push Hook`` is ignored; a deleted branch pushes zeros."""

from __future__ import annotations

import hmac

from devpush.services.webhooks.base import (
    ZERO_SHA,
    Event,
    EventKind,
    Headers,
    SignatureError,
    branch_of,
    commit_field,
    ignored_ref,
    load_object,
    text_field,
    urls_in,
)
from devpush.services.webhooks.github import not_used

REPO_URL_FIELDS = ("git_ssh_url", "git_http_url", "web_url")


class GitLab:
    name = "gitlab"

    def sent(self, headers: Headers) -> bool:
        return "x-gitlab-event" in headers or "x-gitlab-token" in headers

    def delivery(self, headers: Headers) -> str | None:
        return headers.get("x-gitlab-event-uuid") or headers.get("idempotency-key") or None

    def event_name(self, headers: Headers) -> str:
        return headers.get("x-gitlab-event", "")

    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        token = headers.get("x-gitlab-token")
        if not token:
            raise SignatureError("the X-Gitlab-Token header is missing")
        if not hmac.compare_digest(token.encode(), secret.encode()):
            raise SignatureError("the X-Gitlab-Token does not match the webhook's secret")

    def parse(self, headers: Headers, body: bytes) -> Event:
        name = self.event_name(headers)
        data = load_object(body)
        if name == "Tag Push Hook":
            return Event(kind=EventKind.IGNORED, name=name, reason="tags are not deployed")
        if name != "Push Hook":
            return not_used(name)
        urls = urls_in(data, "project", REPO_URL_FIELDS) + urls_in(
            data, "repository", ("git_ssh_url", "git_http_url", "url", "homepage")
        )
        ref = text_field(data, "ref")
        branch = branch_of(ref)
        if branch is None:
            return ignored_ref(name, ref)
        after = text_field(data, "after").lower()
        if after == ZERO_SHA:
            return Event(kind=EventKind.DELETE, name=name, branch=branch, repo_urls=urls)
        # checkout_sha is the branch's head after the push; ``after`` when GitLab omits it.
        key = "checkout_sha" if isinstance(data.get("checkout_sha"), str) else "after"
        commit = commit_field(data, key)
        return Event(kind=EventKind.PUSH, name=name, branch=branch, commit=commit, repo_urls=urls)
