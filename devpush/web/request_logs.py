"""Request logs in the views: the Logs page's histogram by status class, and a
deployment's request stats (count, error rate, p50/p95 duration over a chosen range).

The entries themselves are rows like any other (``logs/macros/lines.html`` colours them
by status); what is here reads the store's request stats (``devpush.services.request_logs``).
"""

from __future__ import annotations

import re
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from devpush.deps import LogStoreDep, SettingsDep
from devpush.log_request import RANGE_PRESETS, LogFilters, LogScope, problem_for
from devpush.logs.query import LogQuery
from devpush.logs.requests import STATUS_CLASSES, StatusClass
from devpush.logs.store import LogStore
from devpush.services.collector import collector_warning
from devpush.services.request_logs import StatusBar, request_stats, status_bars
from devpush.units import format_rfc3339_ns
from devpush.web.log_views import LOG_ERRORS, WebLogRequest, logs_base, with_params
from devpush.web.rendering import render

router = APIRouter(tags=["logs"])

#: The ranges the deployment page's request stats offer ("" : the deployment's life).
STATS_RANGES: Final = ("", *RANGE_PRESETS)
#: The Method choice of the Logs page's request filters (``method:POST``; the query takes any).
REQUEST_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _logs_url(scope: LogScope, params: dict[str, str]) -> str:
    return with_params(logs_base(scope), params)


def with_term(q: str | None, field: str, value: str) -> str:
    """``q`` with its top-level ``field:…`` terms replaced by ``field:value`` at the end:
    the text the Logs page's filters write (``static/logs-query.js``'s ``withTerm``, the
    same rule), so a link and a click give one query."""
    term = re.compile(rf'(^|\s){field}:("(?:[^"\\]|\\.)*"|[^\s()"]+)', re.IGNORECASE)
    rest = " ".join(term.sub(" ", q or "").split())
    return f"{rest} {field}:{value}".strip()


def _class_params(filters: LogFilters, kind: StatusClass, **override: str) -> dict[str, str]:
    """The filters narrowed to one status class (``status:5xx`` in the query)."""
    return filters.params(q=with_term(filters.q, "status", kind), **override)


def histogram_context(
    scope: LogScope, filters: LogFilters, bars: list[StatusBar] | None
) -> dict[str, Any]:
    """The Logs page's request histogram: stacked bars by status class (percent heights),
    each linking to its own range; nothing when the range holds no request."""
    if not bars or not any(bar.total for bar in bars):
        return {}
    top = max(bar.total for bar in bars)
    # A bar's class zooms into its time and filters to that class; a legend entry
    # filters the whole range. A regex search has no fields: the bar zooms only.
    by_class = not filters.regex
    return {
        "status_classes": STATUS_CLASSES,
        "status_bars": [
            {
                "href": _logs_url(
                    scope, filters.params(since=str(bar.start_ns), until=str(bar.end_ns))
                ),
                "class_hrefs": {
                    kind: _logs_url(
                        scope,
                        _class_params(
                            filters, kind, since=str(bar.start_ns), until=str(bar.end_ns)
                        ),
                    )
                    for kind in STATUS_CLASSES
                    if by_class and bar.counts[kind]
                },
                "title": f"{bar.total} requests ("
                + ", ".join(f"{bar.counts[kind]} {kind}" for kind in STATUS_CLASSES)
                + f") from {format_rfc3339_ns(bar.start_ns)[:19]}Z",
                "heights": {
                    kind: round(100 * bar.counts[kind] / top, 1) for kind in STATUS_CLASSES
                },
            }
            for bar in bars
        ],
        "status_totals": {kind: sum(bar.counts[kind] for bar in bars) for kind in STATUS_CLASSES},
        "status_filters": {
            kind: _logs_url(scope, _class_params(filters, kind))
            for kind in STATUS_CLASSES
            if by_class
        },
    }


async def request_histogram(
    store: LogStore, scope: LogScope, filters: LogFilters, query: LogQuery
) -> dict[str, Any]:
    """:func:`histogram_context` of the query's requests (the Logs page calls it)."""
    return histogram_context(scope, filters, await status_bars(store, query))


@router.get("/projects/{project_ref}/logs/requests/stats")
async def request_stats_partial(
    request: Request,
    log_request: WebLogRequest,
    store: LogStoreDep,
    settings: SettingsDep,
) -> Response:
    """A deployment's (or the filters') request stats over the range (loaded by htmx)."""
    scope = log_request.scope
    context: dict[str, Any] = {
        "scope": scope,
        "ranges": STATS_RANGES,
        "chosen": log_request.params.since or "",
    }
    try:
        log_request.checked()
        query = log_request.query(store)
        stats = await request_stats(store, query)
    except LOG_ERRORS as exc:
        problem = problem_for(exc)
        context |= {"problem": problem, "collector_warning": await collector_warning(settings)}
        return render(
            request,
            "logs/partials/_request_stats.html",
            context,
            status_code=problem.status_code,
        )
    deployment = scope.deployment
    context |= {
        "stats": stats,
        "stats_url": f"/projects/{scope.project_slug}/logs/requests/stats",
        "deployment_id": deployment.id if deployment is not None else None,
        "requests_url": _logs_url(scope, {**log_request.params.params(), "stream": "request"}),
    }
    return render(request, "logs/partials/_request_stats.html", context)
