"""Log entries as devpush shows them, from the store: rows, volume bars, permalinks and
the live tail, shared by the web views, the JSON API and downloads.

What a request asks (its filters, the project scope they resolve to, the query built from
them, and the HTTP wording of a failure) is the request layer's: ``devpush.log_request``.
"""

from __future__ import annotations

import collections
import dataclasses
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from devpush.core.labels import (
    BRANCH_LABEL,
    DEPLOYMENT_LABEL,
    ENVIRONMENT_LABEL,
    REQUEST_SOURCE,
    STREAM_LABEL,
)
from devpush.logs.buckets import Buckets
from devpush.logs.errors import (
    InvalidQuery,
    LogStoreError,
)
from devpush.logs.levels import Level, line_level
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.logs.query import LogQuery
from devpush.logs.render import RenderedLine, render_line
from devpush.logs.requests import RequestInfo, request_info
from devpush.logs.store import LogStore
from devpush.logs.structured import StructuredLine, parse_structured
from devpush.services.tail_hub import hub_of
from devpush.units import format_rfc3339_ns

#: Bars of the volume histogram.
VOLUME_BARS: Final = 60

_KEY: Final = re.compile(r"[0-9a-f]{16}")


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
    structured: StructuredLine | None = None  # a JSON line's object, level and message
    # Views: the message of a JSON line, rendered as ``rendered`` is, and its object
    # pretty-printed (plain text: the template escapes it); None for other lines.
    message: RenderedLine | None = None
    pretty: str | None = None
    source: str | None = None  # ``request`` for the proxy's entries, else the stream
    request: RequestInfo | None = None  # a request entry's fields
    host: str | None = None  # swarm mode: the host that ran the runner

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
            "structured": None if self.structured is None else structured_json(self.structured),
            "source": self.source,
            **({"request": self.request.as_json()} if self.request is not None else {}),
            # Only where a host is known (swarm mode): one server's lines stay as they were.
            **({"host": self.host} if self.host else {}),
        }

    def as_text(self) -> str:
        return f"{self.time} {self.source or '-'} {self.line}\n"


def structured_json(structured: StructuredLine) -> dict[str, object]:
    """The API's ``structured`` object: the level as written, the message, the rest."""
    return {
        "level": structured.level,
        "message": structured.message,
        "fields": structured.fields,
    }


def log_line(item: PagedEntry, *, max_chars: int | None = None) -> LogLine:
    """The entry for the API (``max_chars=None``) or a view (HTML cut at ``max_chars``)."""
    entry = item.entry
    labels = entry.labels
    structured = parse_structured(entry.line)
    line = LogLine(
        id=entry.id,
        timestamp_ns=entry.timestamp_ns,
        time=format_rfc3339_ns(entry.timestamp_ns),
        line=entry.line,
        stream=entry.stream,
        level=line_level(entry.line, structured),
        deployment_id=labels.get(DEPLOYMENT_LABEL),
        environment_id=labels.get(ENVIRONMENT_LABEL),
        branch=labels.get(BRANCH_LABEL),
        cursor=item.cursor.encode(),
        rendered=None if max_chars is None else render_line(entry.line, max_chars=max_chars),
        source=entry.source,
        request=request_info(entry.fields) if entry.source == REQUEST_SOURCE else None,
        structured=structured,
        host=entry.host,
    )
    # A line cut for display is shown as text: its object would be shown whole.
    if max_chars is None or structured is None or len(entry.line) > max_chars:
        return line
    message = structured.message
    return dataclasses.replace(
        line,
        message=None if message is None else render_line(message, max_chars=max_chars),
        pretty=structured.pretty(),
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
    buckets = Buckets.over(start, end, at_most=bars)
    series = await store.volume(query, step=buckets.step)
    streams = [(one.labels.get(STREAM_LABEL), one) for one in series]
    # Request entries (no stream) have their own histogram, by status class.
    stdout = buckets.totals(one for name, one in streams if name and name != "stderr")
    stderr = buckets.totals(one for name, one in streams if name == "stderr")
    return [Bar(*buckets.edges(i), stdout[i], stderr[i]) for i in range(len(buckets))]


async def find_line(store: LogStore, *, project_id: str, ts_ns: int, key: str) -> PagedEntry | None:
    """The project's entry with this timestamp and key (a permalink), or None."""
    if not _KEY.fullmatch(key):
        return None
    query = LogQuery(
        project_id=project_id, start=ts_ns, end=ts_ns + 1, direction="forward", limit=1000
    )
    page = await store.page(query)
    return next((item for item in page.items if item.entry.key == key), None)


#: The lines of the items a shared tail handed out lately, by the item's identity: its
#: viewers all receive the same item, and building its line (level detection, HTML) once
#: instead of once per viewer is most of a viewer's cost. Each value keeps its item, so
#: an id is not reused while cached.
_SHARED_LINES: collections.OrderedDict[tuple[int, int | None], tuple[PagedEntry, LogLine]] = (
    collections.OrderedDict()
)
SHARED_LINES_KEPT: Final = 20_000


def _shared_line(item: PagedEntry, *, max_chars: int | None) -> LogLine:
    key = (id(item), max_chars)
    cached = _SHARED_LINES.get(key)
    if cached is not None and cached[0] is item:
        return cached[1]
    line = log_line(item, max_chars=max_chars)
    _SHARED_LINES[key] = (item, line)
    if len(_SHARED_LINES) > SHARED_LINES_KEPT:
        _SHARED_LINES.popitem(last=False)
    return line


_SHARED_TEXTS: collections.OrderedDict[tuple[int, str], tuple[LogLine, str]] = (
    collections.OrderedDict()
)


def shared_text(line: LogLine, kind: str, make: Callable[[LogLine], str]) -> str:
    """``make(line)``, made once for every viewer of a shared tail (``kind`` names what
    is made: the SSE data of the API, a view's row for one base URL, …)."""
    key = (id(line), kind)
    cached = _SHARED_TEXTS.get(key)
    if cached is not None and cached[0] is line:
        return cached[1]
    text = make(line)
    _SHARED_TEXTS[key] = (line, text)
    if len(_SHARED_TEXTS) > SHARED_LINES_KEPT:
        _SHARED_TEXTS.popitem(last=False)
    return text


async def tail_events(
    store: LogStore, query: LogQuery, cursor: LogCursor | None, *, max_chars: int | None
) -> AsyncIterator[tuple[Literal["line", "error"], LogLine | str]]:
    """The live tail of ``query`` after ``cursor``; an error ends it if the store fails.

    Shared by the SSE view and the API's tail; ``since``/``until`` don't bound a tail.
    ``max_chars``: as in :func:`log_line` (None for the API: no HTML).
    """
    forward = dataclasses.replace(query, start=None, end=None, direction="forward", limit=500)
    try:
        # One store tail per query, whoever watches it (devpush/services/tail_hub.py).
        async for item in hub_of(store).follow(forward, cursor):
            yield "line", _shared_line(item, max_chars=max_chars)
    except LogStoreError as exc:
        yield "error", exc.message
