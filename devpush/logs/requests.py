"""Request entries: one per request the proxy answered (``source=request``).

The collector stores a request's fields as text (``request.status`` = ``"200"``,
``devpush.core.labels.REQUEST_FIELDS``); this reads them back into typed values for the
API, the views and the CLI, whatever store they came from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal, Protocol, runtime_checkable

from devpush.core.labels import REQUEST_FIELDS
from devpush.logs.entries import VolumeSeries
from devpush.logs.query import LogQuery

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


@dataclass(frozen=True, slots=True)
class RequestStats:
    """A deployment's (or a project's) requests over a range: how many, how many failed
    (5xx), and the median and 95th percentile duration (None: no request)."""

    count: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None

    @property
    def error_rate(self) -> float | None:
        """Percent of requests answered 5xx (None: no request)."""
        return round(100 * self.errors / self.count, 1) if self.count else None


@runtime_checkable
class RequestStatsStore(Protocol):
    """What a log store answers about request entries (``source=request``) of a query's
    scope and range; the views ask it only where the store has it."""

    async def request_stats(self, query: LogQuery) -> RequestStats:
        """Count, 5xx count and p50/p95 duration of the query's requests in its range."""
        ...

    async def status_volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        """Requests per ``step`` grouped by status code (labels ``{"status": "200"}``)."""
        ...


#: The label :meth:`RequestStatsStore.status_volume` groups by.
STATUS_LABEL: Final = "status"


def number(text: object) -> float | None:
    """A store's numeric answer (text or a number); None for none, NaN or anything else."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
