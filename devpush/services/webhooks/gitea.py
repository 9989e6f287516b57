"""Gitea and Forgejo: ``X-<Forge>-Signature`` (the body's hex HMAC-SHA256, no prefix);
events ``push`` and ``delete`` in GitHub's shape.

Both also send GitHub's and Gogs' headers for compatibility, so the registry asks them
before GitHub; Forgejo sends Gitea's too, so it is asked before Gitea.
"""

from __future__ import annotations

from devpush.services.webhooks.base import (
    Event,
    EventKind,
    Headers,
    check_hmac,
    load_object,
    urls_in,
)
from devpush.services.webhooks.github import not_used, read_delete, read_push

REPO_URL_FIELDS = ("clone_url", "ssh_url", "html_url")


class GiteaLike:
    def __init__(self, name: str, header: str) -> None:
        self.name = name
        self._prefix = f"x-{header.lower()}-"

    def sent(self, headers: Headers) -> bool:
        return f"{self._prefix}event" in headers or f"{self._prefix}signature" in headers

    def delivery(self, headers: Headers) -> str | None:
        return headers.get(f"{self._prefix}delivery") or None

    def event_name(self, headers: Headers) -> str:
        return headers.get(f"{self._prefix}event", "")

    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        check_hmac(headers.get(f"{self._prefix}signature"), secret=secret, body=body)

    def parse(self, headers: Headers, body: bytes) -> Event:
        name = self.event_name(headers)
        data = load_object(body)
        urls = urls_in(data, "repository", REPO_URL_FIELDS)
        if name == "push":
            return read_push(name, data, repo_urls=urls)
        if name == "delete":
            return read_delete(name, data, repo_urls=urls)
        if name == "ping":  # older Gitea versions test a hook with it
            return Event(kind=EventKind.PING, name=name, repo_urls=urls)
        return not_used(name)


GITEA = GiteaLike("gitea", "Gitea")
FORGEJO = GiteaLike("forgejo", "Forgejo")
