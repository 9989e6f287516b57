"""A project's health check: what it asks, what counts as a pass, and the restart bound.

The deploy job asks it before the switch (devpush/workers/tasks/deploy.py), and a thread
of the worker asks it of each running deployment every interval
(devpush/workers/health_watch.py). One check is a GET of the project's path on the
runner's port (directly, or through the proxy's probe socket when the worker reaches no
runner network); it passes when the answer's status is in the expected range. The
defaults (``/``, ``100-599``) keep the old rule: any HTTP answer counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Final, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from devpush.core.config import Settings
from devpush.core.errors import InvalidInput
from devpush.models import Project
from devpush.services import proxy_config

#: The path and the statuses of a project that set nothing: any answer to ``/``.
DEFAULT_PATH: Final = "/"
DEFAULT_EXPECT_STATUS: Final = "100-599"
DEFAULT_FAILURE_THRESHOLD: Final = 3
#: How long one check waits for an answer.
TIMEOUT_SECONDS: Final = 2.0
#: The most bytes of an answer's body read (and shown in a failure record).
BODY_HEAD_BYTES: Final = 200

_RANGE = re.compile(r"^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$")
_PATH_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f#]")


class StatusRangeError(InvalidInput):
    """An expected-status text that is not a list of codes or ranges of 100-599."""


def parse_status_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """``"200-399"``, ``"200"`` or ``"200,204,300-399"`` as (low, high) pairs, inclusive."""
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise StatusRangeError(
                f"expected status {text!r}: use a code or a range, like 200 or 200-399"
            )
        low = int(match[1])
        high = int(match[2] or match[1])
        if not 100 <= low <= high <= 599:
            raise StatusRangeError(
                f"expected status {part.strip()!r}: codes go from 100 to 599, low to high"
            )
        ranges.append((low, high))
    return tuple(ranges)


def check_path(path: str) -> str:
    """A path the check may ask: absolute, no spaces, control characters or fragment."""
    if not path.startswith("/") or _PATH_UNSAFE.search(path):
        raise InvalidInput(
            f"health check path {path!r}: start it with / and leave out spaces and #"
        )
    return path


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """A project's check, read once from its row (no session kept)."""

    path: str = DEFAULT_PATH
    expect_status: str = DEFAULT_EXPECT_STATUS
    grace_seconds: int | None = None
    interval_seconds: int | None = None
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD

    @classmethod
    def of(cls, project: Project) -> Self:
        return cls(
            path=project.health_path,
            expect_status=project.health_expect_status,
            grace_seconds=project.health_grace_seconds,
            interval_seconds=project.health_interval_seconds,
            failure_threshold=project.health_failure_threshold,
        )

    @property
    def is_default(self) -> bool:
        """Any answer to ``/``: the rule before health checks could be set."""
        return (self.path, self.expect_status) == (DEFAULT_PATH, DEFAULT_EXPECT_STATUS)

    def passes(self, answer: Answer) -> bool:
        if answer.status is None:
            return False
        return any(low <= answer.status <= high for low, high in self.ranges)

    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        return parse_status_ranges(self.expect_status)

    @property
    def what(self) -> str:
        """The check in words: ``GET /healthz (expects 200-399)``."""
        return f"GET {self.path} (expects {self.expect_status})"


@dataclass(frozen=True, slots=True)
class Answer:
    """What one check got: a status and the body's first bytes, or the connection error."""

    status: int | None = None
    body_head: str = ""
    error: str | None = None

    def describe(self) -> str:
        """One line for a failure record, the page and the API."""
        if self.status is None:
            return f"no answer: {self.error or 'connection failed'}"
        body = " ".join(self.body_head.split())
        return f"status {self.status}" + (f": {body}" if body else "")


def ask(
    settings: Settings, base_url: str, path: str, *, timeout: float = TIMEOUT_SECONDS
) -> Answer:
    """One GET of ``path`` on the runner at ``base_url`` (``http://host:port/``)."""
    target = httpx.URL(base_url)
    headers: dict[str, str] = {}
    transport: httpx.HTTPTransport | None = None
    url = str(target.copy_with(raw_path=path.encode()))
    if settings.runner_address == "proxy":
        transport, url, headers = proxy_config.probe_route(settings, target, path)
    try:
        with (
            httpx.Client(transport=transport, timeout=timeout) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if proxy_config.PROBE_FAILED_HEADER in response.headers:
                return Answer(error="the proxy could not connect to the runner")
            head = b""
            for chunk in response.iter_bytes():
                head += chunk
                if len(head) >= BODY_HEAD_BYTES:
                    break
    except httpx.HTTPError as exc:
        return Answer(error=_error_text(exc))
    text = head[:BODY_HEAD_BYTES].decode("utf-8", "replace")
    return Answer(status=response.status_code, body_head=text)


def _error_text(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused (is the app listening on its port?)"
    return str(exc) or type(exc).__name__


# The restart bound ---------------------------------------------------------------


def recent_restarts(times: list[str], *, now: datetime, window: timedelta) -> list[str]:
    """The restart times (ISO 8601) within ``window`` before ``now``, oldest first."""
    return sorted(t for t in times if now - datetime.fromisoformat(t) < window)


def may_restart(times: list[str], *, now: datetime, window: timedelta, most: int) -> bool:
    """Whether one more restart stays within ``most`` in any ``window``."""
    return len(recent_restarts(times, now=now, window=window)) < most


# Changing a project's check --------------------------------------------------------


class HealthCheckUpdate(BaseModel):
    """A change of the check: the fields given are set (null: back to the default)."""

    model_config = ConfigDict(extra="forbid")

    path: Annotated[str | None, Field(max_length=255)] = None
    #: A code or ranges of codes, like ``200-399`` or ``200,204``.
    expect_status: Annotated[str | None, Field(max_length=100)] = None
    #: Seconds after the start step for the first pass (null: the server's ready timeout).
    grace_seconds: Annotated[int | None, Field(ge=1, le=3600)] = None
    #: Seconds between checks of a running deployment (null: it is not checked).
    interval_seconds: Annotated[int | None, Field(ge=1, le=3600)] = None
    #: Failures in a row before a running deployment is unhealthy and restarted.
    failure_threshold: Annotated[int | None, Field(ge=1, le=100)] = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else check_path(value.strip())

    @field_validator("expect_status")
    @classmethod
    def _expect_status(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parse_status_ranges(value)
        return ",".join(part.strip().replace(" ", "") for part in value.split(","))


_DEFAULTS: Final[dict[str, object]] = {
    "path": DEFAULT_PATH,
    "expect_status": DEFAULT_EXPECT_STATUS,
    "grace_seconds": None,
    "interval_seconds": None,
    "failure_threshold": DEFAULT_FAILURE_THRESHOLD,
}


def apply_update(project: Project, change: HealthCheckUpdate) -> None:
    """Set the fields ``change`` gives; a null given resets that field to its default."""
    for name in change.model_fields_set:
        value = getattr(change, name)
        setattr(project, f"health_{name}", _DEFAULTS[name] if value is None else value)
