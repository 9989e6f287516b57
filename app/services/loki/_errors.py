"""Every error the Loki service raises; transport and HTTP errors are mapped here only."""

from __future__ import annotations

import httpx


class LokiError(Exception):
    """Base of every error raised by ``app.services.loki``."""


class InvalidQuery(LokiError, ValueError):
    """The caller's query is refused before anything is sent (bad label value, range, limit)."""


class InvalidSearch(InvalidQuery):
    """The search text or regular expression can't be turned into a safe LogQL line filter."""


class InvalidCursor(InvalidQuery):
    """A paging or tail cursor (e.g. an SSE ``Last-Event-ID``) is malformed."""


class LokiUnavailable(LokiError):
    """Loki can't answer now: unreachable, timed out, overloaded (429) or a 5xx. Retry later."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LokiTimeout(LokiUnavailable):
    """Loki did not answer within ``Settings.loki_timeout_seconds``."""


class LokiQueryError(LokiError):
    """Loki refused the query (a 4xx): the message is Loki's own."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class LokiProtocolError(LokiError):
    """Loki answered 2xx with a body this client does not understand."""


# Loki's error bodies are plain text; keep enough to be useful in a log or a flash message.
_MAX_ERROR_TEXT = 500


def map_request_error(exc: httpx.RequestError) -> LokiError:
    """The one mapping of httpx request failures: ``raise map_request_error(e) from e``."""
    if isinstance(exc, httpx.TimeoutException):
        return LokiTimeout(f"Loki did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return LokiUnavailable(f"Loki is unreachable: {type(exc).__name__}: {exc}")
    # DecodingError (a bad Content-Encoding) and the like: Loki's answer was unreadable.
    return LokiProtocolError(f"Loki's answer could not be read: {type(exc).__name__}: {exc}")


def error_for_status(response: httpx.Response) -> LokiError | None:
    """The error for a non-2xx Loki response, or None when the response is a success."""
    status = response.status_code
    if response.is_success:
        return None
    if status < 400:
        # The client follows no redirects: Loki never sends one, so the URL is wrong.
        return LokiProtocolError(f"Loki answered {status} (is Settings.loki_url right?)")
    text = response.text.strip()[:_MAX_ERROR_TEXT] or response.reason_phrase
    # 429 is Loki's "too many outstanding requests": transient, like a 5xx.
    if status == 429 or status >= 500:
        return LokiUnavailable(f"Loki answered {status}: {text}", status_code=status)
    return LokiQueryError(f"Loki refused the query ({status}): {text}", status_code=status)
