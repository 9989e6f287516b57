"""The async Loki client: one ``httpx.AsyncClient`` shared by the app, opened in its lifespan."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import httpx

from app.core.config import Settings
from app.logs.levels import detect_level
from app.services.loki._errors import (
    InvalidQuery,
    LokiProtocolError,
    error_for_status,
    map_request_error,
)
from app.services.loki._logql import LogQuery, duration, log_query, volume_query
from app.services.loki._models import VolumeSeries, parse_matrix, parse_streams
from app.services.loki._paging import LogCursor, PagedEntry, PageSlice, request_limit, take, window

QUERY_RANGE: Final = "/loki/api/v1/query_range"
# A level-filtered page may need a few answers to fill (Loki's filter is a superset).
MAX_ROUND_TRIPS: Final = 5


def open_http_client(settings: Settings) -> httpx.AsyncClient:
    """The shared HTTP client for Loki; close it with ``await client.aclose()``."""
    return httpx.AsyncClient(
        base_url=settings.loki_url,
        timeout=httpx.Timeout(settings.loki_timeout_seconds),
        headers={"Accept": "application/json"},
    )


@dataclass(frozen=True, slots=True)
class LogPage:
    items: tuple[PagedEntry, ...]
    cursor: LogCursor | None  # pass back to get the next page
    exhausted: bool  # nothing more in the query's range
    skipped_ns: tuple[int, ...] = ()  # timestamps with more entries than Loki returns at once


class LokiClient:
    """Queries one Loki over an injected ``httpx.AsyncClient``.

    >>> async with open_http_client(settings) as http:      # doctest: +SKIP
    ...     loki = LokiClient(http, settings=settings)
    ...     page = await loki.page(LogQuery(project_id="p1", start=since))
    ...     more = await loki.page(LogQuery(project_id="p1", start=since), cursor=page.cursor)
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        settings: Settings,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._http = http
        self._settings = settings
        self._clock = clock

    async def query_range(self, params: dict[str, str]) -> Any:
        """GET ``query_range``; every transport and HTTP error is mapped here."""
        try:
            response = await self._http.get(QUERY_RANGE, params=params)
        except httpx.RequestError as exc:
            raise map_request_error(exc) from exc
        error = error_for_status(response)
        if error is not None:
            raise error
        try:
            return response.json()
        except ValueError as exc:
            raise LokiProtocolError("Loki's answer is not JSON") from exc

    async def page(self, query: LogQuery, *, cursor: LogCursor | None = None) -> LogPage:
        """Up to ``query.limit`` entries after ``cursor`` in ``query.direction``."""
        if query.start_ns is None:
            # Loki's own default (one hour before end) would move between pages.
            raise InvalidQuery("a paged log query needs a start time")
        return await self._page(query, cursor=cursor, start_ns=query.start_ns, end_ns=query.end_ns)

    async def tail(
        self, query: LogQuery, *, cursor: LogCursor | None = None
    ) -> AsyncIterator[PagedEntry]:
        """Entries as they arrive, oldest first, forever (or until ``query.end``).

        Each item's cursor, encoded, is the SSE event id: resuming from it (Last-Event-ID)
        neither misses nor repeats an entry. Loki is polled every
        ``log_tail_poll_seconds`` up to ``now - log_tail_delay_seconds``: entries that reach
        Loki later than that delay with older timestamps are not tailed (history has them).
        """
        forward = dataclasses.replace(query, direction="forward")
        delay_ns = round(self._settings.log_tail_delay_seconds * 1e9)
        position = cursor
        while True:
            horizon = self._clock() - delay_ns
            if query.end_ns is not None:
                horizon = min(horizon, query.end_ns)
            if position is None and query.start_ns is None:
                position = LogCursor(timestamp_ns=horizon)  # only what comes from now on
            page = await self._page(
                forward, cursor=position, start_ns=query.start_ns, end_ns=horizon
            )
            for item in page.items:
                yield item
            position = page.cursor or position
            if page.exhausted:
                if query.end_ns is not None and horizon >= query.end_ns:
                    return
                await asyncio.sleep(self._settings.log_tail_poll_seconds)

    async def volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        """Lines per ``step`` and stream over ``[query.start, query.end)``."""
        if query.start_ns is None or query.end_ns is None:
            raise InvalidQuery("a log volume query needs a start and an end")
        logql = volume_query(query, step=step, max_search_chars=self._settings.log_search_max_chars)
        payload = await self.query_range(
            {
                "query": logql,
                "start": str(query.start_ns),
                "end": str(query.end_ns),
                "step": duration(step),
            }
        )
        return parse_matrix(payload)

    async def _page(
        self,
        query: LogQuery,
        *,
        cursor: LogCursor | None,
        start_ns: int | None,
        end_ns: int | None,
    ) -> LogPage:
        logql = log_query(query, max_search_chars=self._settings.log_search_max_chars)
        items: list[PagedEntry] = []
        skipped: list[int] = []
        position = cursor
        exhausted = False
        for _ in range(MAX_ROUND_TRIPS):
            piece = await self._fetch(
                logql,
                query=query,
                cursor=position,
                page_size=query.limit - len(items),
                start_ns=start_ns,
                end_ns=end_ns,
            )
            if piece.skipped_ns is not None:
                skipped.append(piece.skipped_ns)
            items += [
                item
                for item in piece.items
                if query.level is None or detect_level(item.entry.line) == query.level
            ]
            position = piece.cursor or position
            exhausted = piece.exhausted
            if exhausted or len(items) >= query.limit:
                break
        return LogPage(
            items=tuple(items), cursor=position, exhausted=exhausted, skipped_ns=tuple(skipped)
        )

    async def _fetch(
        self,
        logql: str,
        *,
        query: LogQuery,
        cursor: LogCursor | None,
        page_size: int,
        start_ns: int | None,
        end_ns: int | None,
    ) -> PageSlice:
        start, end = window(
            start_ns=start_ns, end_ns=end_ns, cursor=cursor, direction=query.direction
        )
        if start is not None and end is not None and start >= end:
            return PageSlice(items=(), cursor=cursor, exhausted=True)  # empty window
        requested = request_limit(
            page_size=page_size,
            cursor=cursor,
            max_entries=self._settings.loki_max_entries_per_query,
        )
        params = {"query": logql, "limit": str(requested), "direction": query.direction}
        if start is not None:
            params["start"] = str(start)
        if end is not None:
            params["end"] = str(end)
        answer = parse_streams(await self.query_range(params))
        return take(
            answer,
            cursor=cursor,
            direction=query.direction,
            page_size=page_size,
            requested=requested,
        )
