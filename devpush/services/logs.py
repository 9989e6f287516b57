"""Log queries shared by the web views, the JSON API and the CLI.

Request parameters (strings, as a URL carries them) are a :class:`LogFilters`, checked
once; the filters plus a :class:`LogScope` (the ownership-checked project and the environment and
deployment resolved inside it) become a ``LogQuery``. The query's ``project_id`` always
comes from the scope, and an environment or deployment id that is not the project's
raises :class:`FilterNotFound` (a 404), so no parameter can widen a query.

A branch is a label value only: it is escaped and always combined with the project's id,
so any value narrows the query and none needs looking up.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, cast

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from devpush.core.errors import InvalidInput, NotFound
from devpush.core.labels import (
    BRANCH_LABEL,
    DEPLOYMENT_LABEL,
    ENVIRONMENT_LABEL,
    LOG_STREAMS,
    STREAM_LABEL,
)
from devpush.logs.errors import (
    InvalidQuery,
    InvalidSearch,
    LogStoreError,
)
from devpush.logs.levels import LEVELS, Level, detect_level
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.logs.query import Direction, LogQuery, Stream, to_ns
from devpush.logs.render import RenderedLine, render_line
from devpush.logs.store import LogStore
from devpush.models import Deployment, Environment, Project
from devpush.services import projects as project_service

#: Presets of the time-range picker (the web form's ``range``), newest first.
RANGE_PRESETS: Final = ("15m", "1h", "6h", "24h", "7d", "30d")
DEFAULT_RANGE: Final = "1h"
#: Lines before a deployment's creation that still belong to its range (clock skew).
DEPLOYMENT_MARGIN: Final = timedelta(minutes=1)
#: Bars of the volume histogram.
VOLUME_BARS: Final = 60

_DURATION: Final = re.compile(r"([1-9][0-9]{0,5})([smhdw])")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_KEY: Final = re.compile(r"[0-9a-f]{16}")
_NS: Final = 1_000_000_000


# Small exceptions and frozen records, alike in shape across devpush/ on purpose: each names
# its own case and fields; nothing to share but the decorator.
class InvalidLogParams(InvalidInput, ValueError):
    """A request parameter is malformed; ``field`` names it (a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class FilterNotFound(NotFound, LookupError):
    """An environment or deployment id that is not one of the project's (a 404)."""


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class DeploymentRef:
    id: str
    environment_id: str
    branch: str
    created_ns: int
    finished: bool  # no more lines will come (the live tail is off)


@dataclass(frozen=True, slots=True)
class LogScope:
    """The ownership-checked project and what the filters resolved to, as plain values.

    Built in a sync dependency while the DB session is open; the async routes and the
    streams that outlive the session only read it.
    """

    project_id: str
    project_slug: str
    project_name: str
    environment_id: str | None = None
    deployment: DeploymentRef | None = None
    environments: tuple[Choice, ...] = ()
    deployments: tuple[Choice, ...] = ()


def _utc_ns(value: datetime) -> int:
    # SQLite hands back naive UTC datetimes.
    return to_ns(value if value.tzinfo else value.replace(tzinfo=UTC))


def resolve_scope(
    session: Session,
    *,
    project: Project,
    environment_id: str | None,
    deployment_id: str | None,
    with_choices: bool = False,
) -> LogScope:
    """The scope of ``project`` with the given filters; ids of other projects raise."""
    deployment_ref = None
    if environment_id:
        env = session.get(Environment, environment_id)
        if env is None or env.project_id != project.id:
            raise FilterNotFound("environment not found")
    if deployment_id:
        dep = session.get(Deployment, deployment_id)
        if dep is None or dep.project_id != project.id:
            raise FilterNotFound("deployment not found")
        deployment_ref = DeploymentRef(
            id=dep.id,
            environment_id=dep.environment_id,
            branch=dep.branch,
            created_ns=_utc_ns(dep.created_at),
            finished=dep.status.is_final,
        )
    environments: tuple[Choice, ...] = ()
    deployments: tuple[Choice, ...] = ()
    if with_choices:
        envs = project_service.list_environments(session, project=project)
        environments = tuple(Choice(e.id, f"{e.name} ({e.branch})") for e in envs)
        deps = project_service.list_deployments(session, project=project, limit=50)
        deployments = tuple(
            Choice(d.id, f"{d.id[:8]} · {d.branch} · {d.status.value}") for d in deps
        )
    return LogScope(
        project_id=project.id,
        project_slug=project.slug,
        project_name=project.name,
        environment_id=environment_id or None,
        deployment=deployment_ref,
        environments=environments,
        deployments=deployments,
    )


class LogFilters(BaseModel):
    """The filters of a log request, named as its URL names them (views, API, CLI).

    FastAPI reads them from the query string (``Annotated[LogFilters, Query()]``); the
    caps on each length only bound what a request can make the app parse. :meth:`checked`
    is the validation: empty strings (an HTML form's unset fields) mean "not given", and
    a stream or level must be one devpush knows. The search text's one limit is
    ``Settings.log_search_max_chars``, checked with the query (``devpush.logs.query``)
    before any store request.
    """

    model_config = ConfigDict(frozen=True)

    environment: str | None = Field(None, max_length=64)
    branch: str | None = Field(None, max_length=255)
    deployment: str | None = Field(None, max_length=64)
    stream: str | None = Field(None, max_length=16)
    level: str | None = Field(None, max_length=16)
    q: str | None = Field(None, description="search text (plain or regex)")
    regex: bool = False
    since: str | None = Field(None, max_length=64, description="15m, 2h, 7d, ISO 8601 or Unix ns")
    until: str | None = Field(None, max_length=64)

    def checked(self) -> LogFilters:
        """The filters normalized; raises :class:`InvalidLogParams` (a 422) naming the field."""
        stream, level = (self.stream or None), (self.level or None)
        if stream is not None and stream not in LOG_STREAMS:
            raise InvalidLogParams("stream", f"must be one of {', '.join(LOG_STREAMS)}")
        if level is not None and level not in LEVELS:
            raise InvalidLogParams("level", f"must be one of {', '.join(LEVELS)}")
        return LogFilters(
            environment=self.environment or None,
            branch=self.branch or None,
            deployment=self.deployment or None,
            stream=stream,
            level=level,
            q=self.q or None,
            regex=self.regex,
            since=(self.since or "").strip() or None,
            until=(self.until or "").strip() or None,
        )

    def params(self, **override: str | None) -> dict[str, str]:
        """The filters as URL parameters (for links: load older, download, stream)."""
        values: dict[str, str | None] = {
            "environment": self.environment,
            "branch": self.branch,
            "deployment": self.deployment,
            "stream": self.stream,
            "level": self.level,
            "q": self.q,
            "regex": "1" if self.regex and self.q else None,
            "since": self.since,
            "until": self.until,
        }
        values.update(override)
        return {name: value for name, value in values.items() if value}


def parse_time(text: str, *, now_ns: int, field: str) -> int:
    """Unix ns from ``15m``/``2h``/``7d`` (ago), an ISO 8601 time (naive = UTC) or Unix ns."""
    match = _DURATION.fullmatch(text)
    if match:
        return now_ns - int(match.group(1)) * _UNITS[match.group(2)] * _NS
    if text.isascii() and text.isdigit() and len(text) <= 19:
        return int(text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidLogParams(
            field, "expected a duration like 15m, 2h, 7d, an ISO 8601 time or Unix nanoseconds"
        ) from None
    return _utc_ns(value)


def build_query(
    *,
    scope: LogScope,
    filters: LogFilters,
    store: LogStore,
    now_ns: int,
    limit: int = 200,
    direction: Direction = "backward",
) -> LogQuery:
    """The project-scoped LogQuery; raises InvalidLogParams or InvalidSearch (both 422).

    The range is closed on both sides so that paging is stable: ``until`` (default now)
    and ``since`` (default the deployment's creation, else an hour before ``until``).
    """
    end = parse_time(filters.until, now_ns=now_ns, field="until") if filters.until else now_ns
    if filters.since:
        start = parse_time(filters.since, now_ns=now_ns, field="since")
    elif scope.deployment is not None:
        start = scope.deployment.created_ns - int(DEPLOYMENT_MARGIN.total_seconds()) * _NS
    else:
        start = end - _UNITS["h"] * _NS
    if start >= end:
        raise InvalidLogParams("since", "must be before until")
    query = LogQuery(
        project_id=scope.project_id,
        environment_id=scope.environment_id,
        deployment_id=scope.deployment.id if scope.deployment else None,
        branch=filters.branch,
        # checked() let only a known stream and level through.
        stream=cast("Stream | None", filters.stream),
        level=cast("Level | None", filters.level),
        search=filters.q,
        search_mode="regex" if filters.regex else "plain",
        start=start,
        end=end,
        limit=limit,
        direction=direction,
    )
    # Check the query now: a bad regex or a too-long search is a 422 before any I/O.
    store.validate(query)
    return query


# --- what a view, the API and a download show of one entry ---------------------------


@dataclass(frozen=True, slots=True)
class LogLine:
    """One entry as the views and the API show it."""

    id: str  # ``<ts>-<key>``: the anchor and permalink of the line
    timestamp_ns: int
    time: str  # RFC 3339 with nanoseconds, UTC
    line: str  # the raw line (the API and downloads); views use ``rendered``
    stream: str | None
    level: Level | None
    deployment_id: str | None
    environment_id: str | None
    branch: str | None
    cursor: str  # resume after this line (paging, SSE event id)
    rendered: RenderedLine | None  # safe HTML for the views (None for the API and downloads)

    @property
    def clock(self) -> str:
        """``HH:MM:SS.mmm`` for the line's gutter."""
        return self.time[11:23]

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "ts": str(self.timestamp_ns),  # a string: JavaScript numbers lose nanoseconds
            "time": self.time,
            "line": self.line,
            "stream": self.stream,
            "level": self.level,
            "deployment_id": self.deployment_id,
            "environment_id": self.environment_id,
            "branch": self.branch,
            "cursor": self.cursor,
        }

    def as_text(self) -> str:
        return f"{self.time} {self.stream or '-'} {self.line}\n"


def rfc3339_ns(timestamp_ns: int) -> str:
    seconds, fraction = divmod(timestamp_ns, _NS)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction:09d}Z"


def log_line(item: PagedEntry, *, max_chars: int | None = None) -> LogLine:
    """The entry for the API (``max_chars=None``) or a view (HTML cut at ``max_chars``)."""
    entry = item.entry
    labels = entry.labels
    return LogLine(
        id=entry.id,
        timestamp_ns=entry.timestamp_ns,
        time=rfc3339_ns(entry.timestamp_ns),
        line=entry.line,
        stream=entry.stream,
        level=detect_level(entry.line),
        deployment_id=labels.get(DEPLOYMENT_LABEL),
        environment_id=labels.get(ENVIRONMENT_LABEL),
        branch=labels.get(BRANCH_LABEL),
        cursor=item.cursor.encode(),
        rendered=None if max_chars is None else render_line(entry.line, max_chars=max_chars),
    )


def resume_cursor(items: Sequence[PagedEntry], *, end_ns: int) -> LogCursor:
    """Where a live tail starts after a page (any direction): past its newest entry.

    Every key shown at the newest timestamp goes into the cursor, so the tail repeats
    none of them; with no entry, the tail starts at the page's end.
    """
    if not items:
        return LogCursor(timestamp_ns=end_ns)
    newest = max(item.entry.timestamp_ns for item in items)
    seen = frozenset(item.entry.key for item in items if item.entry.timestamp_ns == newest)
    return LogCursor(timestamp_ns=newest, seen=seen)


@dataclass(frozen=True, slots=True)
class Bar:
    start_ns: int
    end_ns: int
    stdout: int
    stderr: int

    @property
    def total(self) -> int:
        return self.stdout + self.stderr


async def volume_bars(store: LogStore, query: LogQuery, *, bars: int = VOLUME_BARS) -> list[Bar]:
    """Line counts per bar over the query's range, by stream (empty bars included)."""
    start, end = query.start_ns, query.end_ns
    if start is None or end is None:
        raise InvalidQuery("a log volume query needs a start and an end")
    step_s = max(1, -(-(end - start) // (bars * _NS)))  # whole seconds, rounded up
    step_ns = step_s * _NS
    series = await store.volume(query, step=timedelta(seconds=step_s))
    count = -(-(end - start) // step_ns)
    stdout, stderr = [0] * count, [0] * count
    for one in series:
        target = stderr if one.labels.get(STREAM_LABEL) == "stderr" else stdout
        for point in one.points:
            # A point is its bucket's start; a store may align buckets to the millisecond.
            index = (point.timestamp_ns - start + step_ns // 2) // step_ns
            if 0 <= index < count:
                target[index] += point.count
    return [
        Bar(start + i * step_ns, min(end, start + (i + 1) * step_ns), stdout[i], stderr[i])
        for i in range(count)
    ]


async def find_line(store: LogStore, *, scope: LogScope, ts_ns: int, key: str) -> PagedEntry | None:
    """The project's entry with this timestamp and key (a permalink), or None."""
    if not _KEY.fullmatch(key):
        return None
    query = LogQuery(
        project_id=scope.project_id, start=ts_ns, end=ts_ns + 1, direction="forward", limit=1000
    )
    page = await store.page(query)
    return next((item for item in page.items if item.entry.key == key), None)


async def tail_events(
    store: LogStore, query: LogQuery, cursor: LogCursor | None, *, max_chars: int | None
) -> AsyncIterator[tuple[Literal["line", "error"], LogLine | str]]:
    """The live tail of ``query`` after ``cursor``; an error ends it if the store fails.

    Shared by the SSE view and the API's tail; ``since``/``until`` don't bound a tail.
    ``max_chars``: as in :func:`log_line` (None for the API: no HTML).
    """
    forward = dataclasses.replace(query, start=None, end=None, direction="forward", limit=500)
    try:
        async for item in store.tail(forward, cursor=cursor):
            yield "line", log_line(item, max_chars=max_chars)
    except LogStoreError as exc:
        yield "error", problem_for(exc).message


# --- one wording of every failure, for pages, partials, the API, SSE and downloads ----


@dataclass(frozen=True, slots=True)
class Problem:
    status_code: int
    message: str
    field: str | None = None  # the form field at fault (422)


def problem_for(exc: LogStoreError | InvalidLogParams) -> Problem:
    """The status and message of a log query failure, in the words users see (the errors'
    own: ``devpush.logs.errors``), and the form field at fault."""
    if isinstance(exc, InvalidLogParams):
        return Problem(exc.http_status, exc.message, exc.field)
    return Problem(exc.http_status, exc.message, "q" if isinstance(exc, InvalidSearch) else None)
