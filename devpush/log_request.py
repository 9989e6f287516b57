"""The log request: what a page or an API call asks of the logs, before the store is asked.

Request parameters (strings, as a URL carries them) are a :class:`LogFilters`, checked
once; the filters plus a :class:`LogScope` (the ownership-checked project and the environment and
deployment resolved inside it) become a ``LogQuery``. The query's ``project_id`` always
comes from the scope, and an environment or deployment id that is not the project's
raises :class:`FilterNotFound` (a 404), so no parameter can widen a query. A failure
becomes a :class:`Problem` (status, message, the form field at fault).

A branch is a label value only: it is escaped and always combined with the project's id,
so any value narrows the query and none needs looking up. The store-facing work (rows,
volume bars, the live tail) is ``devpush.services.logs``'. The pages and the API share
this module (with ``devpush.deps``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, cast

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from devpush.core.errors import InvalidInput, NotFound
from devpush.core.labels import LOG_SOURCES
from devpush.logs.errors import InvalidSearch, LogStoreError
from devpush.logs.levels import LEVELS, Level
from devpush.logs.qlang import MAX_QUERY_CHARS, parse
from devpush.logs.qlang.transform import lift_level, map_values
from devpush.logs.query import Direction, LogQuery, Stream, to_ns
from devpush.logs.store import LogStore
from devpush.models import Deployment, Environment, Project
from devpush.services import projects as project_service
from devpush.units import SECOND_NS

#: Presets of the time-range picker (the web form's ``range``), newest first.
RANGE_PRESETS: Final = ("15m", "1h", "6h", "24h", "7d", "30d")
DEFAULT_RANGE: Final = "1h"
#: Lines before a deployment's creation that still belong to its range (clock skew).
DEPLOYMENT_MARGIN: Final = timedelta(minutes=1)

_DURATION: Final = re.compile(r"([1-9][0-9]{0,5})([smhdw])")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


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
    #: The filters' drop-down options, (id, label) pairs as ``choice_field`` takes them.
    environments: tuple[tuple[str, str], ...] = ()
    deployments: tuple[tuple[str, str], ...] = ()
    #: The project's environments, lower-cased name → id (``environment:production``).
    environment_ids: tuple[tuple[str, str], ...] = ()


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
    environments: tuple[tuple[str, str], ...] = ()
    deployments: tuple[tuple[str, str], ...] = ()
    envs = project_service.list_environments(session, project=project)
    environment_ids = tuple((e.name.lower(), e.id) for e in envs)
    if with_choices:
        environments = tuple((e.id, f"{e.name} ({e.branch})") for e in envs)
        deps = project_service.list_deployments(session, project=project, limit=50)
        deployments = tuple((d.id, f"{d.id[:8]} · {d.branch} · {d.status.value}") for d in deps)
    return LogScope(
        project_id=project.id,
        project_slug=project.slug,
        project_name=project.name,
        environment_id=environment_id or None,
        deployment=deployment_ref,
        environments=environments,
        deployments=deployments,
        environment_ids=environment_ids,
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
    stream: str | None = Field(
        None, max_length=16, description="stdout, stderr or request (the proxy's requests)"
    )
    level: str | None = Field(None, max_length=16)
    q: str | None = Field(
        None,
        max_length=MAX_QUERY_CHARS,
        description='a query (docs/logging.md, "Searching"), or an RE2 regex with regex=1',
    )
    regex: bool = False
    since: str | None = Field(None, max_length=64, description="15m, 2h, 7d, ISO 8601 or Unix ns")
    until: str | None = Field(None, max_length=64)

    def checked(self) -> LogFilters:
        """The filters normalized; raises :class:`InvalidLogParams` (a 422) naming the field."""
        stream, level = (self.stream or None), (self.level or None)
        if stream is not None and stream not in LOG_SOURCES:
            raise InvalidLogParams("stream", f"must be one of {', '.join(LOG_SOURCES)}")
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
        return now_ns - int(match.group(1)) * _UNITS[match.group(2)] * SECOND_NS
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
    """The project-scoped LogQuery; raises InvalidLogParams or InvalidSearch (a 422), or
    QuerySyntaxError (a 400) for a query that is not the language (``q`` without ``regex``).

    The range is closed on both sides so that paging is stable: ``until`` (default now)
    and ``since`` (default the deployment's creation, else an hour before ``until``).
    """
    end = parse_time(filters.until, now_ns=now_ns, field="until") if filters.until else now_ns
    if filters.since:
        start = parse_time(filters.since, now_ns=now_ns, field="since")
    elif scope.deployment is not None:
        start = scope.deployment.created_ns - int(DEPLOYMENT_MARGIN.total_seconds()) * SECOND_NS
    else:
        start = end - _UNITS["h"] * SECOND_NS
    if start >= end:
        raise InvalidLogParams("since", "must be before until")
    level, expr = cast("Level | None", filters.level), None
    if filters.q and not filters.regex:
        expr = map_values(parse(filters.q), "environment", dict(scope.environment_ids))
        if level is None:
            level, expr = lift_level(expr)
    query = LogQuery(
        project_id=scope.project_id,
        environment_id=scope.environment_id,
        deployment_id=scope.deployment.id if scope.deployment else None,
        branch=filters.branch,
        # checked() let only a known stream and level through.
        stream=cast("Stream | None", filters.stream),
        level=level,
        search=filters.q if filters.regex else None,
        search_mode="regex" if filters.regex else "plain",
        expr=expr,
        start=start,
        end=end,
        limit=limit,
        direction=direction,
    )
    # Check the query now: a bad regex or a too-long search is a 422 before any I/O.
    store.validate(query)
    return query


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
