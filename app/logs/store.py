"""The log-store interface, and the paging and tail loops every backend shares.

A backend (``app.services.loki``, ``app.services.victorialogs``) turns a :class:`LogQuery`
into its own query text (:meth:`PagedStore.compile`) and answers one range request
(:meth:`PagedStore.fetch`); this module does the rest: gap-free cursor pages, the level
filter, and a resumable live tail. ``app.services.log_store.log_store`` picks the backend
from ``Settings.log_store``.

>>> store = log_store(settings, http)                                 # doctest: +SKIP
>>> page = await store.page(LogQuery(project_id="p1", start=since))   # doctest: +SKIP
>>> more = await store.page(LogQuery(project_id="p1", start=since), cursor=page.cursor)
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Final, Protocol

from app.core.config import Settings
from app.logs.entries import LogEntry, VolumeSeries
from app.logs.errors import InvalidQuery
from app.logs.levels import detect_level
from app.logs.paging import LogCursor, LogPage, PagedEntry, PageSlice, request_limit, take, window
from app.logs.query import Direction, LogQuery

# A level-filtered page may need a few answers to fill (the store's filter is a superset).
MAX_ROUND_TRIPS: Final = 5


class LogStore(Protocol):
    """What the views, the API and the CLI need from a log store."""

    def validate(self, query: LogQuery) -> None:
        """Raise InvalidQuery/InvalidSearch if ``query`` can't be sent (a 422, before I/O)."""
        ...

    async def page(self, query: LogQuery, *, cursor: LogCursor | None = None) -> LogPage:
        """Up to ``query.limit`` entries after ``cursor`` in ``query.direction``."""
        ...

    def tail(
        self, query: LogQuery, *, cursor: LogCursor | None = None
    ) -> AsyncIterator[PagedEntry]:
        """Entries as they arrive, oldest first; resuming from an item's cursor repeats none."""
        ...

    async def volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        """Lines per ``step`` by stream over ``[query.start, query.end)``."""
        ...

    async def values(self, query: LogQuery, field: str, *, limit: int = 100) -> list[str]:
        """Distinct values of ``field`` (a LOG_FIELDS name) among the query's lines."""
        ...

    async def check(self) -> None:
        """Return when the store answers its health check; raise LogStoreUnavailable."""
        ...


class PagedStore(ABC):
    """Cursor paging and the live tail over a backend's range requests."""

    def __init__(self, *, settings: Settings, clock: Callable[[], int] = time.time_ns) -> None:
        self._settings = settings
        self._clock = clock

    @abstractmethod
    def compile(self, query: LogQuery) -> str:
        """The backend's query text for ``query`` (without time range, order or limit)."""

    @abstractmethod
    async def fetch(
        self,
        text: str,
        *,
        direction: Direction,
        start_ns: int | None,
        end_ns: int | None,
        limit: int,
    ) -> Sequence[LogEntry]:
        """The first ``limit`` entries of ``[start, end)`` in ``direction`` order."""

    def validate(self, query: LogQuery) -> None:
        self.compile(query)

    async def page(self, query: LogQuery, *, cursor: LogCursor | None = None) -> LogPage:
        if query.start_ns is None:
            # A store's own default start would move between pages.
            raise InvalidQuery("a paged log query needs a start time")
        return await self._page(query, cursor=cursor, start_ns=query.start_ns, end_ns=query.end_ns)

    async def tail(
        self, query: LogQuery, *, cursor: LogCursor | None = None
    ) -> AsyncIterator[PagedEntry]:
        """Entries as they arrive, oldest first, forever (or until ``query.end``).

        Each item's cursor, encoded, is the SSE event id: resuming from it (Last-Event-ID)
        neither misses nor repeats an entry. The store is polled every
        ``log_tail_poll_seconds`` up to ``now - log_tail_delay_seconds``: the delay is the
        time a line may take from the runner to being searchable; a line later than that
        with an older timestamp is in the history, not in the tail.
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

    async def _page(
        self,
        query: LogQuery,
        *,
        cursor: LogCursor | None,
        start_ns: int | None,
        end_ns: int | None,
    ) -> LogPage:
        text = self.compile(query)
        items: list[PagedEntry] = []
        skipped: list[int] = []
        position = cursor
        exhausted = False
        for _ in range(MAX_ROUND_TRIPS):
            piece = await self._slice(
                text,
                direction=query.direction,
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

    async def _slice(
        self,
        text: str,
        *,
        direction: Direction,
        cursor: LogCursor | None,
        page_size: int,
        start_ns: int | None,
        end_ns: int | None,
    ) -> PageSlice:
        start, end = window(start_ns=start_ns, end_ns=end_ns, cursor=cursor, direction=direction)
        if start is not None and end is not None and start >= end:
            return PageSlice(items=(), cursor=cursor, exhausted=True)  # empty window
        requested = request_limit(
            page_size=page_size,
            cursor=cursor,
            max_entries=self._settings.log_store_max_entries_per_query,
        )
        answer = await self.fetch(
            text, direction=direction, start_ns=start, end_ns=end, limit=requested
        )
        return take(
            answer, cursor=cursor, direction=direction, page_size=page_size, requested=requested
        )
