"""devpush's own form, for CI jobs and forges without a native hook:
``X-Devpush-Signature: sha256=<hex HMAC-SHA256 of the body>``, ``X-Devpush-Delivery: <id>``,
body ``{"branch": "<name>", "commit": "<full sha>"}``. It names no repository: the
signature says the caller holds this project's secret."""

from __future__ import annotations

from devpush.services.webhooks.base import (
    Event,
    EventKind,
    Headers,
    check_hmac,
    commit_field,
    load_object,
    text_field,
)


class Generic:
    name = "generic"

    def sent(self, headers: Headers) -> bool:
        return "x-devpush-signature" in headers or "x-devpush-delivery" in headers

    def delivery(self, headers: Headers) -> str | None:
        return headers.get("x-devpush-delivery") or None

    def event_name(self, headers: Headers) -> str:
        return "push"

    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        check_hmac(headers.get("x-devpush-signature"), secret=secret, body=body, prefix="sha256=")

    def parse(self, headers: Headers, body: bytes) -> Event:
        data = load_object(body)
        branch = text_field(data, "branch")
        commit = commit_field(data, "commit")
        return Event(kind=EventKind.PUSH, name="push", branch=branch, commit=commit)
