"""The domain's errors: each says its HTTP status and the message users read.

Services raise them; one handler in the web app and one in the API
(``devpush.web.errors``, ``devpush.api.errors``, registered by ``create_app``) turn an
error no route caught into its status and message, so a route catches only what it
answers differently (a form shown again with the message beside its field).
"""

from __future__ import annotations

from typing import ClassVar


class DevpushError(Exception):
    """An error a user can act on. ``str()`` is what went wrong; :attr:`message` what users
    read (a fixed wording when the class sets ``user_message``)."""

    #: The HTTP status an API answer or an error page carries.
    http_status: int = 400
    #: The wording users read instead of ``str()`` (None: ``str()`` itself).
    user_message: ClassVar[str | None] = None

    @property
    def message(self) -> str:
        return self.user_message or str(self)

    @property
    def headers(self) -> dict[str, str]:
        """Headers of the answer (a Retry-After, say)."""
        return {}


class InvalidInput(DevpushError, ValueError):
    """A value the user gave is refused (a ValueError too: pydantic validators raise it, and
    a form that catches ValueError shows it beside its field)."""

    http_status = 422


class Forbidden(DevpushError):
    """The user may not do this."""

    http_status = 403


class NotFound(DevpushError):
    """No such thing among what the user may see."""

    http_status = 404


class Conflict(DevpushError):
    """The change clashes with what exists (a duplicate, the last owner)."""

    http_status = 409


class TooManyRequests(DevpushError):
    """Too many tries; :attr:`retry_after` says when to try again."""

    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(DevpushError):
    """Something devpush depends on (Docker, git, the proxy, the log store) failed."""

    http_status = 503
