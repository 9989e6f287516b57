"""Every error a log store raises; transport and HTTP errors are mapped here only.

Both backends speak HTTP through one shared ``httpx.AsyncClient``, so one mapping serves
them: ``raise map_request_error(exc) from exc`` and ``error_for_status(response)``.
Messages name the log store, never a backend: they reach users as they are.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

import httpx

from devpush.core.errors import DevpushError

#: What users read while the log store can't be reached (views, API, CLI, live tail).
STORE_UNREACHABLE: Final = (
    "devpush cannot reach the log store right now; new lines wait in the collector and "
    "show here once it answers. An admin can check DEVPUSH_LOG_STORE and "
    'DEVPUSH_LOG_STORE_URL (docs/logging.md, "Troubleshooting").'
)
#: What users read when a clustered store answered without some of its storage nodes.
PARTIAL_RESULTS: Final = "Some log storage nodes did not answer: lines may be missing."


class LogStoreError(DevpushError):
    """Base of every error raised by a log store; :attr:`message` is what users read."""

    http_status = 502
    user_message: ClassVar[str | None] = "The log store sent an answer devpush could not read."


class InvalidQuery(LogStoreError, ValueError):
    """The caller's query is refused before anything is sent (bad field value, range, limit)."""

    http_status = 422
    user_message = None


class InvalidSearch(InvalidQuery):
    """The search text or regular expression can't be turned into a safe store filter."""


class InvalidCursor(InvalidQuery):
    """A paging or tail cursor (e.g. an SSE ``Last-Event-ID``) is malformed."""


class LogStoreUnavailable(LogStoreError):
    """The store can't answer now: unreachable, timed out, overloaded (429) or a 5xx."""

    http_status = 503
    user_message = STORE_UNREACHABLE

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LogStoreTimeout(LogStoreUnavailable):
    """The store did not answer within ``Settings.log_store_timeout_seconds``."""

    user_message = "The log store did not answer in time. Try a shorter range."


class LogStorePartial(LogStoreUnavailable):
    """Some storage nodes of a clustered store did not answer, where a partial answer
    can't do (the live tail: moving past it would skip their lines for good)."""

    user_message = f"{PARTIAL_RESULTS} The live view resumes once they answer."


class LogStoreQueryError(LogStoreError):
    """The store refused the query (a 4xx): the message is the store's own."""

    http_status = 422

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code

    @property
    def message(self) -> str:
        return f"The log store refused the query: {self}"


class LogStoreProtocolError(LogStoreError):
    """The store answered 2xx with a body this client does not understand."""


# Error bodies are plain text; keep enough to be useful in a log or a flash message.
_MAX_ERROR_TEXT = 500


def map_request_error(exc: httpx.RequestError) -> LogStoreError:
    """The one mapping of httpx request failures: ``raise map_request_error(e) from e``."""
    if isinstance(exc, httpx.TimeoutException):
        return LogStoreTimeout(f"the log store did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return LogStoreUnavailable(f"the log store is unreachable: {type(exc).__name__}: {exc}")
    # DecodingError (a bad Content-Encoding) and the like: the answer was unreadable.
    return LogStoreProtocolError(
        f"the log store's answer could not be read: {type(exc).__name__}: {exc}"
    )


def error_for_status(response: httpx.Response) -> LogStoreError | None:
    """The error for a non-2xx response, or None when the response is a success."""
    status = response.status_code
    if response.is_success:
        return None
    if status < 400:
        # The client follows no redirects: no store sends one, so the URL is wrong.
        return LogStoreProtocolError(
            f"the log store answered {status} (is DEVPUSH_LOG_STORE_URL right?)"
        )
    text = response.text.strip()[:_MAX_ERROR_TEXT] or response.reason_phrase
    # 429 is "too many outstanding requests": transient, like a 5xx.
    if status == 429 or status >= 500:
        return LogStoreUnavailable(f"the log store answered {status}: {text}", status_code=status)
    return LogStoreQueryError(
        f"the log store refused the query ({status}): {text}", status_code=status
    )


def json_body(response: httpx.Response) -> Any:
    """The response's JSON, or the protocol error when it is not JSON."""
    try:
        return response.json()
    except ValueError as exc:
        raise LogStoreProtocolError("the log store's answer is not JSON") from exc
