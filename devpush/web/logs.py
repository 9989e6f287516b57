"""Log views: the project Logs page, the deployment log panel, older pages, the live tail
(SSE), downloads and a page per line. Queries come from ``devpush.services.logs``.

Failures never take a page down: a bad parameter or regex renders the form with the
message (422), an unreachable log store renders the views with a "log store unreachable"
message (503), the live tail sends an ``error`` event, a download a plain-text error.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.responses import PlainTextResponse, Response
from jinja2 import Template
from sse_starlette import EventSourceResponse, ServerSentEvent

from devpush.core.config import Settings
from devpush.core.labels import LOG_SOURCES
from devpush.deps import LogRequest, LogStoreDep, SettingsDep
from devpush.log_request import RANGE_PRESETS, LogFilters, LogScope, Problem, problem_for
from devpush.logs.errors import PARTIAL_RESULTS, LogStoreError
from devpush.logs.levels import LEVELS
from devpush.logs.paging import LogCursor, LogPage
from devpush.logs.query import LogQuery
from devpush.logs.render import render_line
from devpush.logs.requests import STATUS_CLASSES
from devpush.logs.store import LogStore
from devpush.services.collector import collector_warning
from devpush.services.logs import (
    Bar,
    LogLine,
    find_line,
    log_line,
    resume_cursor,
    shared_text,
    tail_events,
    volume_bars,
)
from devpush.services.supervisor import local_restart_notice
from devpush.units import SECOND_NS, format_rfc3339_ns
from devpush.web.log_views import (
    LOG_ERRORS,
    WebLogPageRequest,
    WebLogRequest,
    logs_base,
    with_params,
)
from devpush.web.rendering import render
from devpush.web.request_logs import REQUEST_METHODS, request_histogram

router = APIRouter(tags=["logs"])

#: Lines per page in the views.
PAGE_LINES: Final = 200
#: The browser reconnects this long after an ``error`` event (resuming from Last-Event-ID).
RETRY_MS: Final = 5000
_LINE_ID: Final = re.compile(r"([0-9]{1,20})-([0-9a-f]{16})")
#: Served bytes are never sniffed into HTML (log lines are untrusted).
_NOSNIFF: Final = {"X-Content-Type-Options": "nosniff"}


async def _fetch_page(
    log_request: LogRequest, store: LogStore, settings: Settings, *, cursor: LogCursor | None = None
) -> tuple[LogFilters, LogQuery, LogPage]:
    """The request's checked filters, their query, and one page of lines from the store."""
    filters = log_request.checked()
    query = log_request.query(store, limit=PAGE_LINES)
    return filters, query, await store.page(query, cursor=cursor)


def _panel(
    scope: LogScope,
    filters: LogFilters,
    query: LogQuery,
    page: LogPage,
    *,
    live: bool,
    settings: Settings,
) -> dict[str, Any]:
    """What the panel template needs: lines oldest first, and the URLs that go on from them."""
    items, cursor = page.items, page.cursor
    base = logs_base(scope)
    fixed = filters.params(since=str(query.start_ns), until=str(query.end_ns))
    older = None
    if not page.exhausted and cursor is not None:
        older = with_params(f"{base}/lines", {**fixed, "cursor": cursor.encode()})
    stream = None
    if live and filters.until is None:
        resume = resume_cursor(items, end_ns=query.end_ns or time.time_ns())
        stream = with_params(
            f"{base}/stream", {**filters.params(since=None), "cursor": resume.encode()}
        )
    lines = [log_line(item, max_chars=settings.log_line_max_chars) for item in items]
    return {
        "base": base,
        "lines": lines[::-1] if query.direction == "backward" else lines,
        "older_url": older,
        "partial": PARTIAL_RESULTS if page.partial else None,
        "stream_url": stream,
        "download_txt": with_params(f"{base}/download", {**fixed, "format": "txt"}),
        "download_ndjson": with_params(f"{base}/download", {**fixed, "format": "ndjson"}),
    }


def _form_context(log_request: LogRequest, preset: str | None, live: bool) -> dict[str, Any]:
    return {
        "scope": log_request.scope,
        "params": log_request.params,
        "preset": preset if preset in (*RANGE_PRESETS, "custom") else "",
        "presets": RANGE_PRESETS,
        "levels": LEVELS,
        "streams": LOG_SOURCES,
        "status_classes": STATUS_CLASSES,
        "methods": REQUEST_METHODS,
        "live": live,
        "base": logs_base(log_request.scope),
    }


@router.get("/projects/{project_ref}/logs")
async def logs_page(
    request: Request,
    log_request: WebLogPageRequest,
    store: LogStoreDep,
    settings: SettingsDep,
    preset: Annotated[str | None, Query(alias="range", max_length=16)] = None,
    live: bool = False,
) -> Response:
    """Filters, search, range, volume histogram and the newest lines; all state in the URL."""
    context = _form_context(log_request, preset, live)
    context["collector_warning"] = await collector_warning(settings)
    context["local_restart_notice"] = await local_restart_notice(settings)
    try:
        filters, query, page = await _fetch_page(log_request, store, settings)
        bars = await volume_bars(store, query)
        # The requests by status class (request logs), beside the lines' volume.
        context |= await request_histogram(store, log_request.scope, filters, query)
    except LOG_ERRORS as exc:
        problem = problem_for(exc)
        context["problem"] = problem
        return render(request, "logs/pages/index.html", context, status_code=problem.status_code)
    context |= _panel(log_request.scope, filters, query, page, live=live, settings=settings)
    context |= _volume_context(log_request.scope, filters, query, bars)
    return render(request, "logs/pages/index.html", context)


def _volume_context(
    scope: LogScope, filters: LogFilters, query: LogQuery, bars: list[Bar]
) -> dict[str, Any]:
    """Server-rendered histogram bars (percent heights); each links to its own range."""
    top = max((bar.total for bar in bars), default=0) or 1
    return {
        "bars": [
            {
                "href": with_params(
                    logs_base(scope), filters.params(since=str(bar.start_ns), until=str(bar.end_ns))
                ),
                "title": f"{bar.total} lines ({bar.stderr} stderr) from "
                f"{format_rfc3339_ns(bar.start_ns)[:19]}Z",
                "stdout_pct": round(100 * bar.stdout / top, 1),
                "stderr_pct": round(100 * bar.stderr / top, 1),
            }
            for bar in bars
        ],
        "range_start": format_rfc3339_ns(query.start_ns or 0)[:19] + "Z",
        "range_end": format_rfc3339_ns(query.end_ns or 0)[:19] + "Z",
    }


@router.get("/projects/{project_ref}/logs/panel")
async def logs_panel(
    request: Request, log_request: WebLogRequest, store: LogStoreDep, settings: SettingsDep
) -> Response:
    """The deployment page's log panel (loaded by htmx): newest lines, live while it runs."""
    deployment = log_request.scope.deployment
    context: dict[str, Any] = {
        "scope": log_request.scope,
        "params": log_request.params,  # "Open in Logs" carries the query
        "base": logs_base(log_request.scope),
        "collector_warning": await collector_warning(settings),
        "local_restart_notice": await local_restart_notice(settings),
    }
    try:
        filters, query, page = await _fetch_page(log_request, store, settings)
    except LOG_ERRORS as exc:
        return _problem_partial(request, context, problem_for(exc))
    live = deployment is not None and not deployment.finished
    context |= _panel(log_request.scope, filters, query, page, live=live, settings=settings)
    return render(request, "logs/partials/_panel.html", context)


@router.get("/projects/{project_ref}/logs/lines")
async def older_lines(
    request: Request,
    log_request: WebLogRequest,
    store: LogStoreDep,
    settings: SettingsDep,
    cursor: Annotated[str, Query(max_length=100_000)],
) -> Response:
    """The page of lines before ``cursor`` and the next "load older" control."""
    context: dict[str, Any] = {"scope": log_request.scope, "base": logs_base(log_request.scope)}
    try:
        filters, query, page = await _fetch_page(
            log_request, store, settings, cursor=LogCursor.decode(cursor)
        )
    except LOG_ERRORS as exc:
        return _problem_partial(request, context, problem_for(exc), row=True)
    context |= _panel(log_request.scope, filters, query, page, live=False, settings=settings)
    return render(request, "logs/partials/_lines.html", context)


def _problem_partial(
    request: Request, context: dict[str, Any], problem: Problem, *, row: bool = False
) -> Response:
    context = {**context, "problem": problem, "row": row}
    return render(request, "logs/partials/_problem.html", context, status_code=problem.status_code)


def _line_macro(request: Request) -> Any:
    template: Template = request.app.state.templates.env.get_template("logs/macros/lines.html")
    return template.module.log_line  # type: ignore[attr-defined]


@router.get("/projects/{project_ref}/logs/stream")
async def live_tail(
    request: Request,
    log_request: WebLogRequest,
    store: LogStoreDep,
    settings: SettingsDep,
    cursor: Annotated[str | None, Query(max_length=100_000)] = None,
    last_event_id: Annotated[str | None, Header(max_length=100_000)] = None,
) -> Response:
    """Server-sent events: ``line`` (a rendered row; its id is the resume cursor),
    ``error`` (the store failed: the stream ends and the browser reconnects after ``retry``)."""
    try:
        query = log_request.query(store)
        position = _resume(last_event_id or cursor)
    except LOG_ERRORS as exc:
        problem = problem_for(exc)
        return PlainTextResponse(problem.message, problem.status_code, headers=_NOSNIFF)
    macro, base = _line_macro(request), logs_base(log_request.scope)

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for kind, item in tail_events(
            store, query, position, max_chars=settings.log_line_max_chars
        ):
            if isinstance(item, LogLine):
                # Rendered once for every viewer of this base (a shared tail's line).
                row = shared_text(item, base, lambda line: str(macro(line, base)))
                yield ServerSentEvent(data=row, event=kind, id=item.cursor)
            else:
                yield ServerSentEvent(data=item, event=kind, retry=RETRY_MS)

    return EventSourceResponse(events(), ping=15, headers=_NOSNIFF)


def _resume(text: str | None) -> LogCursor | None:
    return LogCursor.decode(text) if text else None


@router.get("/projects/{project_ref}/logs/download")
async def download(
    log_request: WebLogRequest,
    store: LogStoreDep,
    settings: SettingsDep,
    fmt: Annotated[Literal["txt", "ndjson"], Query(alias="format")] = "txt",
) -> Response:
    """Every line of the range, oldest first, streamed (never held in memory)."""
    try:
        response = await log_request.download(store, settings, fmt=fmt)
    except LOG_ERRORS as exc:
        problem = problem_for(exc)
        return PlainTextResponse(problem.message, problem.status_code, headers=_NOSNIFF)
    response.headers.update(_NOSNIFF)
    return response


@router.get("/projects/{project_ref}/logs/line")
async def one_line(
    request: Request,
    log_request: WebLogRequest,
    store: LogStoreDep,
    line_id: Annotated[str, Query(alias="id", max_length=64)],
    raw: bool = False,
) -> Response:
    """A permalink: one whole line (never cut), or its raw text."""
    match = _LINE_ID.fullmatch(line_id)
    if match is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "log line not found")
    context: dict[str, Any] = {"scope": log_request.scope, "base": logs_base(log_request.scope)}
    try:
        item = await find_line(
            store, project_id=log_request.scope.project_id, ts_ns=int(match[1]), key=match[2]
        )
    except LogStoreError as exc:
        problem = problem_for(exc)
        context["problem"] = problem
        return render(request, "logs/pages/line.html", context, status_code=problem.status_code)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "log line not found (or past retention)")
    line = log_line(item)
    if raw:
        return PlainTextResponse(line.line, headers=_NOSNIFF)
    whole = render_line(line.line, max_chars=max(1, len(line.line)))
    ts = line.timestamp_ns
    # "Show in context": the minute of lines up to this one.
    around = {"since": str(ts - 60 * SECOND_NS), "until": str(ts + 1)}
    if line.deployment_id:
        around["deployment"] = line.deployment_id
    context |= {
        "line": line,
        "whole": whole,
        "context_url": with_params(logs_base(log_request.scope), around),
    }
    return render(request, "logs/pages/line.html", context)
