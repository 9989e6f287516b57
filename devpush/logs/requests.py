"""Request entries: one per request the proxy answered (``source=request``).

The collector stores a request's fields as text (``request.status`` = ``"200"``,
``devpush.core.labels.REQUEST_FIELDS``); this reads them back into typed values for the
API, the views and the CLI, whatever store they came from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from devpush.core.labels import REQUEST_FIELDS

#: Status classes, as the histogram and the row colours group them.
StatusClass = Literal["2xx", "3xx", "4xx", "5xx", "other"]
STATUS_CLASSES: Final[tuple[StatusClass, ...]] = ("2xx", "3xx", "4xx", "5xx")


def status_class(status: int | None) -> StatusClass:
    """``2xx`` … ``5xx`` for a status code; ``other`` for none or anything else (1xx, 0)."""
    if status is None or not 200 <= status < 600:
        return "other"
    return STATUS_CLASSES[status // 100 - 2]


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """A request entry's fields (any may be missing from a stored entry)."""

    method: str | None
    host: str | None
    path: str | None
    status: int | None
    duration_ms: float | None
    bytes: int | None
    client: str | None
    user_agent: str | None

    @property
    def status_class(self) -> StatusClass:
        return status_class(self.status)

    def as_json(self) -> dict[str, object]:
        """The API's ``request`` object."""
        return {
            "method": self.method,
            "host": self.host,
            "path": self.path,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "bytes": self.bytes,
            "client": self.client,
            "user_agent": self.user_agent,
        }


def request_info(fields: Mapping[str, str]) -> RequestInfo:
    """The typed request of an entry's stored fields (text that is not a number: None)."""

    def text(name: str) -> str | None:
        return fields.get(REQUEST_FIELDS[name]) or None

    return RequestInfo(
        method=text("method"),
        host=text("host"),
        path=text("path"),
        status=_int(text("status")),
        duration_ms=_float(text("duration_ms")),
        bytes=_int(text("bytes")),
        client=text("client"),
        user_agent=text("user_agent"),
    )
