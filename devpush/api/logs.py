"""Logs over the API: the same filters as the Logs page, cursor paging and a live tail.

``GET /projects/{ref}/logs`` answers one page and a ``next`` URL with the range fixed in
Unix ns (so paging never drifts); ``GET /projects/{ref}/logs/tail`` streams new lines as
NDJSON, or as server-sent events when the client accepts ``text/event-stream``;
``GET /projects/{ref}/logs/download`` streams the whole range as a file (txt or NDJSON).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from devpush.deps import (
    ApiProject,
    LogRequest,
    LogStoreDep,
    SessionDep,
    SettingsDep,
    resolve_log_request,
)
from devpush.log_request import InvalidLogParams, LogFilters, problem_for
from devpush.logs.errors import LogStoreError
from devpush.logs.paging import LogCursor
from devpush.services import log_download
from devpush.services.collector import collector_warning
from devpush.services.logs import LogLine, log_line, shared_text, tail_events
from devpush.services.supervisor import local_restart_notice

router = APIRouter(prefix="/projects", tags=["logs"])

MAX_LIMIT = 5000


def api_log_request(
    project: ApiProject, session: SessionDep, params: Annotated[LogFilters, Query()]
) -> LogRequest:
    return resolve_log_request(session, project, params)


ApiLogRequest = Annotated[LogRequest, Depends(api_log_request)]


class RequestPublic(BaseModel):
    """A request entry's fields (``source`` is ``request``); a field the proxy did not
    record is null."""

    method: str | None
    host: str | None
    path: str | None  # without the query string unless the server keeps it
    status: int | None
    duration_ms: float | None
    bytes: int | None
    client: str | None  # the client's address as the proxy saw it
    user_agent: str | None


class StructuredPublic(BaseModel):
    """A JSON line, read: its level as written (``"warn"``, ``40``), its message, the rest."""

    level: str | int | float | None
    message: str | None
    fields: dict[str, Any]  # the other top-level members, in the line's order


class LogLinePublic(BaseModel):
    id: str
    ts: str  # Unix nanoseconds, as a string
    time: str  # RFC 3339, nanoseconds, UTC
    line: str
    stream: str | None
    level: str | None
    deployment_id: str | None
    environment_id: str | None
    branch: str | None
    cursor: str
    structured: StructuredPublic | None = None  # set on JSON lines (``line`` stays raw)
    # ``stdout``/``stderr`` for a runner's lines, ``request`` for the proxy's entries.
    source: str | None = None
    # Only on request entries.
    request: RequestPublic | None = None
    # Swarm mode: the host that ran the runner; absent (not null) on one server.
    host: str | None = Field(default=None, exclude_if=lambda value: value is None)


class LogPagePublic(BaseModel):
    items: list[LogLinePublic]
    cursor: str | None
    next: str | None  # the URL of the next page; null once the range is exhausted
    start: str  # the range actually queried, Unix ns
    end: str
    skipped_ns: list[str] = []  # timestamps holding more lines than the store returns at once
    partial: bool = False  # some log storage nodes did not answer: lines may be missing
    # Set while the log collector's queue is full: lines may be lost to rotation.
    collector_warning: str | None = None
    # Development runs only: a part of the local run restarted lately (which, and when).
    local_restart_notice: str | None = None


def _http_error(
    exc: LogStoreError | InvalidLogParams, *, warning: str | None = None
) -> HTTPException:
    problem = problem_for(exc)
    return HTTPException(problem.status_code, " ".join(filter(None, [problem.message, warning])))


@router.get("/{project_ref}/logs", response_model=LogPagePublic)
async def list_logs(
    request: Request,
    log_request: ApiLogRequest,
    store: LogStoreDep,
    settings: SettingsDep,
    cursor: Annotated[str | None, Query(max_length=100_000)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    direction: Literal["backward", "forward"] = "backward",
) -> LogPagePublic:
    """One page of lines (newest first by default); follow ``next`` for the following one."""
    try:
        filters = log_request.checked()
        query = log_request.query(store, limit=limit, direction=direction)
        page = await store.page(query, cursor=LogCursor.decode(cursor) if cursor else None)
    except LogStoreError as exc:
        # The store down is when the collector's queue fills: say both.
        raise _http_error(exc, warning=await collector_warning(settings)) from exc
    following = None
    if not page.exhausted and page.cursor is not None:
        params = filters.params(since=str(query.start_ns), until=str(query.end_ns))
        params |= {"cursor": page.cursor.encode(), "limit": str(limit), "direction": direction}
        following = f"{request.url.path}?{urlencode(params)}"
    return LogPagePublic(
        items=[LogLinePublic(**log_line(item).as_json()) for item in page.items],
        cursor=page.cursor.encode() if page.cursor else None,
        next=following,
        start=str(query.start_ns),
        end=str(query.end_ns),
        skipped_ns=[str(ns) for ns in page.skipped_ns],
        partial=page.partial,
        collector_warning=await collector_warning(settings),
        local_restart_notice=await local_restart_notice(settings),
    )


@router.get(
    "/{project_ref}/logs/tail",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/event-stream": {}}}},
)
async def tail_logs(
    log_request: ApiLogRequest,
    store: LogStoreDep,
    settings: SettingsDep,
    cursor: Annotated[str | None, Query(max_length=100_000)] = None,
    accept: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header(max_length=100_000)] = None,
) -> Response:
    """New lines as they arrive, after ``cursor`` (default: from now on), until disconnected.

    NDJSON: one line object per line, and ``{"error": "..."}`` as the last line if the store
    fails (resume with the last line's ``cursor``). SSE: ``line`` events whose id is the
    cursor, and an ``error`` event. Lines are sent as soon as the store has them; a
    resumed tail misses none, but may send again lines already received (the same
    ``id``): drop those, as ``devpush logs --follow`` does.
    """
    query = log_request.query(store)
    resume_from = last_event_id or cursor
    position = LogCursor.decode(resume_from) if resume_from else None
    events = tail_events(store, query, position, max_chars=None)
    if accept is not None and "text/event-stream" in accept:

        async def sse() -> AsyncIterator[ServerSentEvent]:
            async for kind, item in events:
                if isinstance(item, LogLine):
                    data = shared_text(item, "api-sse", lambda line: json.dumps(line.as_json()))
                    yield ServerSentEvent(data=data, event="line", id=item.cursor)
                else:
                    yield ServerSentEvent(data=json.dumps({"error": item}), event=kind)

        return EventSourceResponse(sse(), ping=15)

    async def ndjson() -> AsyncIterator[str]:
        async for _kind, item in events:
            if isinstance(item, LogLine):
                yield shared_text(item, "api-ndjson", _ndjson_row)
            else:
                yield json.dumps({"error": item}, ensure_ascii=False) + "\n"

    return StreamingResponse(ndjson(), media_type="application/x-ndjson")


def _ndjson_row(line: LogLine) -> str:
    return json.dumps(line.as_json(), ensure_ascii=False) + "\n"


@router.get(
    "/{project_ref}/logs/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/plain": {}}}},
)
async def download_logs(
    log_request: ApiLogRequest,
    store: LogStoreDep,
    settings: SettingsDep,
    fmt: Annotated[log_download.Format, Query(alias="format")] = "ndjson",
) -> Response:
    """Every line of the range (the same filters as ``/logs``), oldest first, streamed.

    ``ndjson``: one object per line with ``ts`` (Unix ns), ``time``, ``line``, ``stream``,
    ``deployment_id``, ``environment_id`` and ``branch`` (a field with no value may be left
    out); ``txt``: ``<time> <stream> <line>``. If the store fails midway, the last line
    says so (``{"error": ...}`` or ``# download incomplete: ...``).
    """
    try:
        return await log_request.download(store, settings, fmt=fmt)
    except LogStoreError as exc:
        raise _http_error(exc, warning=await collector_warning(settings)) from exc
