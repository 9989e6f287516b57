"""What every forge module provides: the sender's check and a call read into an :class:`Event`."""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from devpush.core.errors import DevpushError, InvalidInput

#: Request headers, looked up case-insensitively (Starlette's ``Headers`` is one).
Headers = Mapping[str, str]

ZERO_SHA = "0" * 40
MAX_BRANCH_LENGTH = 255
_HEX = frozenset("0123456789abcdef")


class SignatureError(DevpushError):
    """A missing or wrong signature (or token): answered 401, nothing is queued."""

    http_status = 401


class BadPayloadError(InvalidInput):
    """A body that is not the JSON the forge sends (400) or lacks a field (422)."""

    def __init__(self, message: str, *, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = self.http_status = status_code


class EventKind(enum.StrEnum):
    PUSH = "push"  # a branch moved: deploy its new commit
    DELETE = "delete"  # a branch was deleted: stop its environment
    PING = "ping"  # the forge checks the hook
    IGNORED = "ignored"  # valid but nothing to do (a tag, an event devpush does not use)


@dataclass(frozen=True, slots=True)
class Event:
    """A verified call, read: what happened, to which branch, in which repository."""

    kind: EventKind
    #: The forge's event name, as sent ("push", "Push Hook", "delete", ...).
    name: str
    branch: str | None = None
    commit: str | None = None
    #: Every address the payload gives for its repository (clone, ssh, web).
    repo_urls: tuple[str, ...] = ()
    #: Why an IGNORED event does nothing.
    reason: str = ""

    def __post_init__(self) -> None:
        # The branch is stored (deliveries, environments) in columns of this size.
        if self.branch is not None and len(self.branch) > MAX_BRANCH_LENGTH:
            raise BadPayloadError(f"the branch name is over {MAX_BRANCH_LENGTH} characters")


class Forge(Protocol):
    """One forge's webhook dialect."""

    #: The registry key and what the deliveries view shows.
    name: str

    def sent(self, headers: Headers) -> bool:
        """Whether these headers are this forge's."""

    def delivery(self, headers: Headers) -> str | None:
        """The forge's id for this delivery (the same on a redelivery)."""

    def event_name(self, headers: Headers) -> str:
        """The event the headers announce ("" when none)."""

    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        """Raise :class:`SignatureError` unless the call is signed with ``secret``."""

    def parse(self, headers: Headers, body: bytes) -> Event:
        """Read a verified call; raises :class:`BadPayloadError`."""


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_hmac(given: str | None, *, secret: str, body: bytes, prefix: str = "") -> None:
    """``given`` must be ``prefix`` + the hex HMAC-SHA256 of ``body``, compared in constant time."""
    if not given:
        raise SignatureError("the signature header is missing")
    expected = prefix + hmac_sha256_hex(secret, body)
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise SignatureError("the signature does not match the webhook's secret")


def load_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying what is wrong with it."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayloadError(f"the body is not valid JSON: {exc}", status_code=400) from exc
    if not isinstance(data, dict):
        raise BadPayloadError("the body must be a JSON object", status_code=400)
    return data


def text_field(data: Mapping[str, Any], name: str) -> str:
    """A required string field, or a 422 naming it."""
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise BadPayloadError(f"the body lacks the field {name!r} (a string)")
    return value


def commit_field(data: Mapping[str, Any], name: str) -> str:
    """A required full commit id (40 or 64 lowercase hex digits)."""
    value = text_field(data, name).lower()
    if len(value) not in (40, 64) or not set(value) <= _HEX:
        raise BadPayloadError(f"{name!r} is not a full commit id (40 or 64 hex digits)")
    return value


def urls_in(data: Mapping[str, Any], key: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """The string fields ``names`` of the object ``data[key]`` (the repository's addresses)."""
    section = data.get(key)
    if not isinstance(section, dict):
        return ()
    return tuple(v for n in names if isinstance(v := section.get(n), str) and v)


def branch_of(ref: str) -> str | None:
    """``refs/heads/<b>`` → ``<b>``; anything else (a tag) → None."""
    prefix = "refs/heads/"
    return ref[len(prefix) :] if ref.startswith(prefix) and len(ref) > len(prefix) else None


def ignored_ref(name: str, ref: str) -> Event:
    reason = "tags are not deployed" if ref.startswith("refs/tags/") else f"{ref} is not a branch"
    return Event(kind=EventKind.IGNORED, name=name, reason=reason)
