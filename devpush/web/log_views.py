"""What the log views share (``devpush/web/logs.py``: the Logs page, panels, tail and
downloads; ``devpush/web/request_logs.py``: the request histogram and stats): the web log
request with the range picker's preset, the Logs page's links, the failures a view shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import Depends, Query

from devpush.deps import LogRequest, SessionDep, WebProject, resolve_log_request
from devpush.log_request import RANGE_PRESETS, InvalidLogParams, LogFilters, LogScope
from devpush.logs.errors import InvalidQuery, LogStoreError

#: What a view shows as its problem (a bad parameter or query, the store unreachable).
LOG_ERRORS: Final = (InvalidLogParams, InvalidQuery, LogStoreError)


def _web_params(params: LogFilters, preset: str | None) -> LogFilters:
    # The form's range picker: a preset replaces since/until; "custom" keeps them.
    if preset in RANGE_PRESETS:
        return params.model_copy(update={"since": preset, "until": None})
    return params


def _web_log_request(*, choices: bool) -> Callable[..., LogRequest]:
    """The dependency resolving a web log request; ``choices``: with the filter choices."""

    def dependency(
        project: WebProject,
        session: SessionDep,
        params: Annotated[LogFilters, Query()],
        preset: Annotated[str | None, Query(alias="range", max_length=16)] = None,
    ) -> LogRequest:
        return resolve_log_request(session, project, _web_params(params, preset), choices=choices)

    return dependency


WebLogRequest = Annotated[LogRequest, Depends(_web_log_request(choices=False))]
WebLogPageRequest = Annotated[LogRequest, Depends(_web_log_request(choices=True))]


def logs_base(scope: LogScope) -> str:
    """The project's Logs page."""
    return f"/projects/{scope.project_slug}/logs"


def with_params(path: str, params: dict[str, str]) -> str:
    return f"{path}?{urlencode(params)}" if params else path
