"""The log-store interface, and the paging and tail loops every backend shares.

A backend (``devpush.services.loki``, ``devpush.services.victorialogs``) turns a :class:`LogQuery`
into its own query text (:meth:`PagedStore.compile`) and answers one range request
(:meth:`PagedStore.fetch`); this module does the rest: gap-free cursor pages, the level
filter, and a resumable live tail. ``devpush.services.log_store.log_store`` picks the backend
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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Protocol

import httpx

from devpush.core.config import Settings
from devpush.logs.entries import Fetched, VolumeSeries
from devpush.logs.errors import InvalidQuery, LogStorePartial
from devpush.logs.levels import detect_level
from devpush.logs.paging import (
    LogCursor,
    LogPage,
    PagedEntry,
    PageSlice,
    request_limit,
    take,
    window,
)
from devpush.logs.query import Direction, LogQuery
from devpush.units import SECOND_NS

# A level-filtered page may need a few answers to fill (the store's filter is a superset).
MAX_ROUND_TRIPS: Final = 5
# Lines a collector read in one poll may reach the store after newer ones of the poll
# before: the settled position stays this far behind the newest ingested line.
INGEST_MARGIN_NS: Final = 1 * SECOND_NS
# Entries one live tail delivered ahead of its settled position and remembers (in memory,
# about 100 bytes each) so as not to deliver them again; past this, the rest wait for
# the settled pass. Far above what arrives within the settle delay at 5,000 lines/s.
MAX_AHEAD: Final = 50_000
# Each round re-reads this much of the fresh window it already read: a line the collector
# stores after newer ones (another stream's batch) shows at once if it is no later than
# this; a later one waits for the settled pass. Re-reading the whole fresh window every
# round cost 0.3-0.4 cores per tail at 1,000 lines/s.
FRESH_OVERLAP_NS: Final = 500_000_000


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


@dataclass(frozen=True, slots=True)
class Span:
    """One range request: the first ``limit`` entries of ``[start_ns, end_ns)`` in
    ``direction`` order (an open end when None)."""

    direction: Direction
    start_ns: int | None
    end_ns: int | None
    limit: int


class PagedStore(ABC):
    """Cursor paging and the live tail over a backend's range requests, which it sends
    on an injected ``httpx.AsyncClient`` (based at the store URL)."""

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

    @abstractmethod
    def compile(self, query: LogQuery) -> str:
        """The backend's query text for ``query`` (without time range, order or limit)."""

    @abstractmethod
    async def fetch(self, text: str, span: Span) -> Fetched:
        """The entries ``span`` asks for; a clustered store that answered without some
        nodes says so (``Fetched.partial``)."""

    @property
    def settings(self) -> Settings:
        """The settings the store was made with (the live tail reads its own from them)."""
        return self._settings

    def validate(self, query: LogQuery) -> None:
        self.compile(query)

    async def ingested_until(self) -> int | None:
        """The newest timestamp the store holds across all runners, if the backend can say.

        Collectors send oldest first, so lines older than this have arrived (give or take
        one collector poll, which ``log_tail_delay_seconds`` covers). None: unknown.
        """
        return None

    async def make_recent_searchable(self) -> None:
        """Ask the store to make the lines it has just received searchable now, if it can.

        A live tail calls it every poll, before reading; a store that makes lines
        searchable at once (or can't be asked) does nothing.
        """
        return None

    async def count(self, query: LogQuery, *, start_ns: int, end_ns: int) -> int | None:
        """How many entries the store holds for ``query`` in ``[start_ns, end_ns)``, if the
        backend can say cheaply (None: unknown, or a partial answer)."""
        return None

    async def _all_sent(
        self,
        query: LogQuery,
        position: LogCursor,
        end_ns: int,
        ahead: set[tuple[int, str]],
    ) -> bool:
        """Whether every entry of ``[position, end_ns)`` was sent: those the position
        covers at its timestamp, and those sent ahead of it (a level filter, which the
        store only narrows to a superset, makes the counts differ: then it is read)."""
        if query.level is not None:
            return False
        sent = len(position.seen) + sum(
            1 for ident in ahead if ident[0] < end_ns and not position.covers_ident(*ident)
        )
        stored = await self.count(query, start_ns=position.timestamp_ns, end_ns=end_ns)
        return stored is not None and stored == sent

    async def page(self, query: LogQuery, *, cursor: LogCursor | None = None) -> LogPage:
        if query.start_ns is None:
            # A store's own default start would move between pages.
            raise InvalidQuery("a paged log query needs a start time")
        return await self._page(query, cursor=cursor, start_ns=query.start_ns, end_ns=query.end_ns)

    async def tail(
        self, query: LogQuery, *, cursor: LogCursor | None = None
    ) -> AsyncIterator[PagedEntry]:
        """Entries as they arrive, forever (or until ``query.end``); resumable, gap-free.

        Every ``log_tail_poll_seconds`` two windows are read:

        - the settled one, up to ``now - log_tail_delay_seconds`` (the longest a line takes
          from a runner to being searchable), and never past what the store has ingested
          (:meth:`ingested_until`, when the backend knows: after an outage the collector
          re-sends its backlog oldest first, so the position waits for it): the position
          moves through every entry in it, so a line that arrives late, with an older
          timestamp, is still delivered;
        - the fresh one, from there to now: its entries are delivered at once (a line
          shows as soon as the store can answer for it) and remembered until the settled
          pass reaches them, so one tail delivers each entry once.

        Each item's cursor is the settled position (small: it is the SSE event id of every
        line). Resuming from it (Last-Event-ID) misses nothing, but delivers again the
        entries that had come ahead of it: clients drop those by entry id
        (``LogEntry.id``), as the browser's live view and the CLI do. A late line may come
        after newer ones; per stream, order is kept.

        A partial answer (a storage node down) raises :class:`LogStorePartial` instead of
        moving on: the position stays before the missing lines, so a tail resumed from
        the last item's cursor once the node is back delivers them, with no gap.
        """
        forward = dataclasses.replace(query, direction="forward")
        settle_ns = round(self._settings.log_tail_delay_seconds * SECOND_NS)
        position = cursor
        ahead: set[tuple[int, str]] = set()  # (timestamp_ns, key) delivered from fresh
        newest_fresh = 0  # the newest timestamp delivered from the fresh window
        last_settled_end = 0  # the settled window's end in the round before
        while True:
            now = self._clock()
            end = now if query.end_ns is None else min(now, query.end_ns)
            if position is None:
                # From the query's start, or only what comes from now on.
                position = LogCursor(timestamp_ns=now if query.start_ns is None else query.start_ns)
            settled_end = min(now - settle_ns, end)
            await self.make_recent_searchable()
            ingested = await self.ingested_until()
            if ingested is not None:
                settled_end = min(settled_end, ingested - INGEST_MARGIN_NS)
            # The settled window: the position moves through every entry in it. When the
            # store holds no more entries there than the tail already sent (from the fresh
            # window), nothing in it is new: the position moves to its end unread.
            if settled_end > position.timestamp_ns and await self._all_sent(
                forward, position, settled_end, ahead
            ):
                position = LogCursor(timestamp_ns=settled_end)
            while settled_end > position.timestamp_ns:
                page = _whole(
                    await self._page(forward, cursor=position, start_ns=None, end_ns=settled_end)
                )
                for item in page.items:
                    position = item.cursor
                    ident = (item.entry.timestamp_ns, item.entry.key)
                    if ident in ahead:
                        ahead.discard(ident)  # delivered earlier, from the fresh window
                    else:
                        yield item
                if page.cursor is not None:  # also past entries the level filter dropped
                    position = page.cursor
                if page.exhausted:
                    break
            ahead = {ident for ident in ahead if not position.covers_ident(*ident)}
            # The fresh window: deliver now, remember in ``ahead``. While the settled end
            # moves, only what is new since the last round is read (less an overlap for
            # lines stored a little out of order): a later line comes in the settled
            # pass. Once it stops (the store got nothing newer: it stays a margin behind
            # the newest line), the whole fresh window is read, so such a line still comes.
            start = max(settled_end, position.timestamp_ns)
            if settled_end > last_settled_end:
                start = max(start, newest_fresh - FRESH_OVERLAP_NS)
            last_settled_end = settled_end
            fresh_cursor: LogCursor | None = None
            while end > start and len(ahead) < MAX_AHEAD:
                page = _whole(
                    await self._page(forward, cursor=fresh_cursor, start_ns=start, end_ns=end)
                )
                for item in page.items:
                    ident = (item.entry.timestamp_ns, item.entry.key)
                    if ident in ahead or position.covers(item.entry):
                        continue
                    if len(ahead) >= MAX_AHEAD:
                        break
                    ahead.add(ident)
                    newest_fresh = max(newest_fresh, item.entry.timestamp_ns)
                    yield PagedEntry(entry=item.entry, cursor=position)
                if page.exhausted or page.cursor is None:
                    break
                fresh_cursor = page.cursor
            if query.end_ns is not None and settled_end >= query.end_ns:
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
        exhausted = partial = False
        for _ in range(MAX_ROUND_TRIPS):
            piece = await self._slice(
                text,
                direction=query.direction,
                cursor=position,
                page_size=query.limit - len(items),
                start_ns=start_ns,
                end_ns=end_ns,
            )
            partial = partial or piece.partial
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
            items=tuple(items),
            cursor=position,
            exhausted=exhausted,
            skipped_ns=tuple(skipped),
            partial=partial,
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
        answer = await self.fetch(text, Span(direction, start, end, requested))
        piece = take(
            answer.entries,
            cursor=cursor,
            direction=direction,
            page_size=page_size,
            requested=requested,
        )
        return dataclasses.replace(piece, partial=answer.partial) if answer.partial else piece


def _whole(page: LogPage) -> LogPage:
    """``page``, unless the store answered without some of its nodes (see ``tail``)."""
    if page.partial:
        raise LogStorePartial(
            "some log storage nodes did not answer; the live tail waits for them",
            status_code=502,
        )
    return page
