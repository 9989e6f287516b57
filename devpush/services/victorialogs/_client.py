"""VictoriaLogs as a log store: LogsQL over ``/select/logsql/*``, and its health check."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, Final

import httpx

from devpush.core.labels import REQUEST_SOURCE, STREAM_LABEL
from devpush.logs.entries import Fetched, VolumeSeries
from devpush.logs.errors import InvalidQuery, error_for_status, json_body, map_request_error
from devpush.logs.query import LogQuery
from devpush.logs.requests import STATUS_LABEL, RequestStats
from devpush.logs.store import PagedStore, Span
from devpush.services.victorialogs._endpoints import Endpoint
from devpush.services.victorialogs._logsql import filters, ordered
from devpush.services.victorialogs._models import (
    parse_count,
    parse_hits,
    parse_lines,
    parse_newest,
    parse_values,
)
from devpush.services.victorialogs._requests import STATUS_FIELD, parse_stats, stats_query
from devpush.services.victorialogs.export import Format, export, export_query

#: The newest line of the last hour (an idle hour: None, and the tail uses its delay).
INGESTED_QUERY: Final = "_time:1h | stats max(_time) as newest"
INGESTED_CACHE_SECONDS: Final = 0.2


#: Per store URL, in this process: when it was last asked to flush (every live tail shares
#: the budget), and the URLs that refused (a cluster's front, an auth key): not asked again.
_flushed_at: dict[str, float] = {}
_flush_refused: set[str] = set()


class VictoriaLogsStore(PagedStore):
    """Queries one VictoriaLogs over an injected ``httpx.AsyncClient`` (based at its URL).

    Requests are POSTed forms: a long search stays out of URLs and access logs.
    """

    # The newest ingested timestamp, cached (set per instance once asked).
    _ingested: int | None = None
    _ingested_at: float = -INGESTED_CACHE_SECONDS

    async def _post(self, path: str, form: dict[str, str]) -> tuple[httpx.Response, bool]:
        """POST ``form`` to ``path``: the answer, and whether it is partial.

        A cluster front answers 502 when a storage node is down; asked again with
        ``allow_partial_response=1`` it answers 200 with what the others hold, and no
        marker: so the retry is what says the answer is partial. A single node never
        answers 502. Every transport and HTTP error is mapped here.
        """
        response = await self._send(path, form)
        partial = response.status_code == 502
        if partial:
            response = await self._send(path, {**form, "allow_partial_response": "1"})
        error = error_for_status(response)
        if error is not None:
            raise error
        return response, partial

    async def _send(self, path: str, form: dict[str, str]) -> httpx.Response:
        try:
            return await self._http.post(path, data=form)
        except httpx.RequestError as exc:
            raise map_request_error(exc) from exc

    async def _json(self, path: str, form: dict[str, str]) -> Any:
        response, _partial = await self._post(path, form)
        return json_body(response)

    def compile(self, query: LogQuery) -> str:
        return filters(query, max_search_chars=self._settings.log_search_max_chars)

    async def fetch(self, text: str, span: Span) -> Fetched:
        form = {"query": ordered(text, direction=span.direction, limit=span.limit)}
        form |= _range(span.start_ns, span.end_ns)
        response, partial = await self._post(Endpoint.QUERY, form)
        return Fetched(parse_lines(response.text), partial=partial)

    def export(self, query: LogQuery, *, fmt: Format) -> AsyncIterator[bytes]:
        """The download file of ``query``'s range, formatted by the store (see ``export``)."""
        start, end = query.start_ns, query.end_ns
        if start is None or end is None:
            raise InvalidQuery("a log download needs a start and an end")
        text = export_query(self.compile(query), fmt)
        return export(self._http, text, start_ns=start, end_ns=end, fmt=fmt)

    async def volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        return await self._hits(query, step, STREAM_LABEL)

    async def _hits(self, query: LogQuery, step: timedelta, field: str) -> list[VolumeSeries]:
        """Lines per ``step`` of ``query``'s range, grouped by ``field``."""
        start, end = query.start_ns, query.end_ns
        if start is None or end is None:
            raise InvalidQuery("a log volume query needs a start and an end")
        step_ms = step // timedelta(milliseconds=1)
        if step_ms <= 0 or step != timedelta(milliseconds=step_ms):
            raise InvalidQuery("step must be a positive whole number of milliseconds")
        # VictoriaLogs starts buckets at multiples of the step *minus* ``offset``: shift them
        # onto the range's start (else a bar straddles the end and recent lines drop out).
        offset_ms = -(start // 1_000_000) % step_ms
        form = {
            "query": self.compile(query),
            "step": f"{step_ms}ms",
            "offset": f"{offset_ms}ms",
            "field": field,
            **_range(start, end),
        }
        return parse_hits(await self._json(Endpoint.HITS, form), field=field)

    async def request_stats(self, query: LogQuery) -> RequestStats:
        requests = dataclasses.replace(query, stream=REQUEST_SOURCE)
        form = {"query": stats_query(self.compile(requests))}
        form |= _range(query.start_ns, query.end_ns)
        response, _partial = await self._post(Endpoint.QUERY, form)
        return parse_stats(response.text)

    async def status_volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        """Requests per ``step`` by status code: the volume bars' query, grouped by status."""
        series = await self._hits(
            dataclasses.replace(query, stream=REQUEST_SOURCE), step, STATUS_FIELD
        )
        return [
            dataclasses.replace(one, labels={STATUS_LABEL: one.labels[STATUS_FIELD]})
            if STATUS_FIELD in one.labels
            else one
            for one in series
        ]

    async def count(self, query: LogQuery, *, start_ns: int, end_ns: int) -> int | None:
        form = {"query": f"{self.compile(query)} | stats count() as n", **_range(start_ns, end_ns)}
        response, partial = await self._post(Endpoint.QUERY, form)
        return None if partial else parse_count(response.text)

    async def values(self, query: LogQuery, field: str, *, limit: int = 100) -> list[str]:
        form = {"query": self.compile(query), "field": field, "limit": str(limit)}
        form |= _range(query.start_ns, query.end_ns)
        return sorted(parse_values(await self._json(Endpoint.FIELD_VALUES, form)))

    async def ingested_until(self) -> int | None:
        """The newest ``_time`` of the last hour, across all runners (cached briefly).

        The collector sends its queue with one consumer, oldest first, so after an
        outage this trails the backlog as it drains; every live tail asks it each poll,
        hence the cache.
        """
        clock = time.monotonic()
        if clock - self._ingested_at < INGESTED_CACHE_SECONDS:
            return self._ingested
        response, _partial = await self._post(Endpoint.QUERY, {"query": INGESTED_QUERY})
        self._ingested = parse_newest(response.text)
        self._ingested_at = clock
        return self._ingested

    async def make_recent_searchable(self) -> None:
        """``/internal/force_flush``: lines become searchable now, not ~1 s after arrival.

        Best effort: a failure only means lines show a second later, so nothing is
        raised; a refusal (4xx: a cluster's select front, ``-forceFlushAuthKey``) stops
        the asking for this URL.
        """
        every = self._settings.log_tail_flush_seconds
        url = str(self._http.base_url)
        clock = time.monotonic()
        if every <= 0 or url in _flush_refused or clock - _flushed_at.get(url, -every) < every:
            return
        _flushed_at[url] = clock
        try:
            response = await self._http.get(Endpoint.FORCE_FLUSH)
        except httpx.RequestError:
            return  # the queries that follow report the store's state
        if response.is_client_error:
            _flush_refused.add(url)

    async def check(self) -> None:
        try:
            response = await self._http.get(Endpoint.HEALTH)
        except httpx.RequestError as exc:
            raise map_request_error(exc) from exc
        error = error_for_status(response)
        if error is not None:
            raise error


def _range(start_ns: int | None, end_ns: int | None) -> dict[str, str]:
    # Integers in nanoseconds; VictoriaLogs' ``end`` is exclusive, as ours.
    form = {}
    if start_ns is not None:
        form["start"] = str(start_ns)
    if end_ns is not None:
        form["end"] = str(end_ns)
    return form
