"""Loki as a log store: LogQL over ``query_range``, label values and readiness."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import httpx

from devpush.logs.entries import Fetched, VolumePoint, VolumeSeries
from devpush.logs.errors import (
    InvalidQuery,
    LogStoreProtocolError,
    error_for_status,
    json_body,
    map_request_error,
)
from devpush.logs.query import LogQuery
from devpush.logs.requests import RequestStats
from devpush.logs.store import PagedStore, Span
from devpush.services.loki._logql import duration, log_query, stream_selector, volume_query
from devpush.services.loki._models import parse_matrix, parse_streams
from devpush.services.loki._requests import (
    instant_value,
    request_entry,
    stats_queries,
    status_volume_query,
)

QUERY_RANGE: Final = "/loki/api/v1/query_range"
QUERY: Final = "/loki/api/v1/query"
LABEL_VALUES: Final = "/loki/api/v1/label/{name}/values"
READY: Final = "/ready"


class LokiStore(PagedStore):
    """Queries one Loki over an injected ``httpx.AsyncClient`` (based at the store URL)."""

    async def _get(self, path: str, params: dict[str, str]) -> httpx.Response:
        """GET ``path``; every transport and HTTP error is mapped here."""
        try:
            response = await self._http.get(path, params=params)
        except httpx.RequestError as exc:
            raise map_request_error(exc) from exc
        error = error_for_status(response)
        if error is not None:
            raise error
        return response

    async def _json(self, path: str, params: dict[str, str]) -> Any:
        return json_body(await self._get(path, params))

    async def query_range(self, params: dict[str, str]) -> Any:
        return await self._json(QUERY_RANGE, params)

    def compile(self, query: LogQuery) -> str:
        return log_query(query, max_search_chars=self._settings.log_search_max_chars)

    async def fetch(self, text: str, span: Span) -> Fetched:
        params = {"query": text, "limit": str(span.limit), "direction": span.direction}
        if span.start_ns is not None:
            params["start"] = str(span.start_ns)
        if span.end_ns is not None:
            params["end"] = str(span.end_ns)
        # Loki answers whole or fails: never partial.
        entries = parse_streams(await self.query_range(params))
        return Fetched([request_entry(entry) for entry in entries])

    async def request_stats(self, query: LogQuery) -> RequestStats:
        start, end = query.start_ns, query.end_ns
        if start is None or end is None:
            raise InvalidQuery("request stats need a start and an end")
        # Whole milliseconds: the range of a LogQL query.
        span = timedelta(milliseconds=max(1, (end - start) // 1_000_000))
        texts = stats_queries(
            query, span=span, max_search_chars=self._settings.log_search_max_chars
        )
        values = {
            name: instant_value(await self._json(QUERY, {"query": text, "time": str(end)}))
            for name, text in texts.items()
        }
        count = int(values["requests"] or 0)
        return RequestStats(
            count=count,
            errors=int(values["errors"] or 0),
            p50_ms=values["p50"] if count else None,
            p95_ms=values["p95"] if count else None,
        )

    async def status_volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        logql = status_volume_query(
            query, step=step, max_search_chars=self._settings.log_search_max_chars
        )
        return await self._series(query, logql, step)

    async def volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        if query.start_ns is None or query.end_ns is None:
            raise InvalidQuery("a log volume query needs a start and an end")
        logql = volume_query(query, step=step, max_search_chars=self._settings.log_search_max_chars)
        return await self._series(query, logql, step)

    async def _series(self, query: LogQuery, logql: str, step: timedelta) -> list[VolumeSeries]:
        """The ``count_over_time`` series of ``logql`` per ``step`` over the query's range."""
        if query.start_ns is None or query.end_ns is None:
            raise InvalidQuery("a log volume query needs a start and an end")
        payload = await self.query_range(
            {
                "query": logql,
                "start": str(query.start_ns),
                "end": str(query.end_ns),
                "step": duration(step),
            }
        )
        # count_over_time at t counts (t - step, t]: move each point to its bucket's start.
        step_ns = step // timedelta(microseconds=1) * 1000
        return [
            VolumeSeries(
                labels=series.labels,
                points=tuple(
                    VolumePoint(timestamp_ns=p.timestamp_ns - step_ns, count=p.count)
                    for p in series.points
                ),
            )
            for series in parse_matrix(payload)
        ]

    async def values(self, query: LogQuery, field: str, *, limit: int = 100) -> list[str]:
        params = {"query": stream_selector(query)}
        if query.start_ns is not None:
            params["start"] = str(query.start_ns)
        if query.end_ns is not None:
            params["end"] = str(query.end_ns)
        payload = await self._json(LABEL_VALUES.format(name=field), params)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
            raise LogStoreProtocolError("label values are not a list of strings")
        return sorted(data)[:limit]

    async def check(self) -> None:
        await self._get(READY, {})
