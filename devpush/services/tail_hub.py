"""One live tail per query, shared by everyone watching it.

Ten people watching one deployment used to cost ten store tails, each reading the same
lines every poll (0.3-0.4 cores each at 1,000 lines/s). Here the first viewer of a query
starts a tail (a task of this process, over the app's one store); later viewers of the
same query receive its items too, and the tail stops when the last one leaves.

A viewer resumes from its cursor (an SSE Last-Event-ID) without a gap: the shared tail
keeps its recent items, and a viewer whose cursor covers the tail's *floor* (everything
the tail no longer holds, or never read) is replayed the held items its cursor does not
cover, then follows. A viewer with an older cursor (back after a long outage, or from
before the tail started) gets a tail of its own, as before. Items keep the shared tail's
cursors (the store's settled position): resuming from any of them is gap-free, as with a
private tail, and a repeat is dropped by entry id, as clients already do.

A viewer that falls far behind (its queue full) is ended with an error: it reconnects
from its last cursor. A store failure ends the shared tail and every viewer of it.

A tail of one deployment also follows its running runners through Docker
(``devpush/services/runner_follow.py``, when ``log_follow_docker_host`` names the app's
read-only door): a runner's line shows as Docker hands it over, not after the
collector's and the store's timers. The store tail runs beside it from the same cursor:
its items still carry the cursors (so a reconnect is gap-free), it brings what Docker
does not (request entries, a line of a runner that started later, every line once a
follow breaks or the runner exits), and the second copy of a line, by entry id, is
dropped where the two meet.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Final

import httpx

from devpush.core.config import Settings
from devpush.logs.entries import LogEntry
from devpush.logs.errors import LogStoreError
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.logs.query import LogQuery
from devpush.logs.store import LogStore
from devpush.services import runner_follow
from devpush.units import SECOND_NS

#: Items a shared tail holds for viewers that join or come back (about 5 MB at most);
#: at 1,000 lines/s that is the last 20 s.
HELD_ITEMS: Final = 20_000
#: Items a viewer may be behind the shared tail before it is ended (it reconnects).
VIEWER_QUEUE: Final = 50_000
#: How often a Docker-following tail looks for its deployment's running runners: while it
#: follows none (a runner starting shows within this), and while it follows some (another
#: runner started; a follow that broke is taken up again from its last line). One filtered
#: container listing each time.
LOOK_IDLE_SECONDS: Final = 0.25
LOOK_FOLLOWING_SECONDS: Final = 2.0
#: Followed nothing for this long (a finished deployment someone still watches): look as
#: seldom as while following. A runner starting later still shows through the store tail
#: at once, and is followed within LOOK_FOLLOWING_SECONDS.
IDLE_QUICK_LOOKS_SECONDS: Final = 60.0
#: Delivered ids are kept until the store tail's position passes them by this much: the
#: store never delivers an entry its position covers, so past it no copy can come.
SEEN_MARGIN_NS: Final = 1 * SECOND_NS
#: Ids kept at most (about 100 bytes each): while the store tail is stuck (the collector
#: down) Docker's lines still come; past this the oldest are forgotten, and a copy the
#: store brings later is dropped by the clients, by entry id, as after a reconnect.
MAX_SEEN: Final = 200_000


class ViewerBehind(LogStoreError):
    """A viewer read more slowly than lines came; it resumes from its last cursor."""

    http_status = 503
    user_message = "The live view fell behind the lines; it resumes from the last one shown."


def look_interval(*, following: bool, idle_for: float) -> float:
    """Seconds until a Docker-following tail looks for its runners again."""
    if following or idle_for >= IDLE_QUICK_LOOKS_SECONDS:
        return LOOK_FOLLOWING_SECONDS
    return LOOK_IDLE_SECONDS


def covers(outer: LogCursor, inner: LogCursor) -> bool:
    """Whether every entry ``inner`` covers is covered by ``outer``."""
    if outer.timestamp_ns != inner.timestamp_ns:
        return outer.timestamp_ns > inner.timestamp_ns
    return inner.seen <= outer.seen


def later(a: LogCursor, b: LogCursor) -> LogCursor:
    """The smallest cursor covering both ``a`` and ``b``."""
    if a.timestamp_ns != b.timestamp_ns:
        return a if a.timestamp_ns > b.timestamp_ns else b
    return LogCursor(timestamp_ns=a.timestamp_ns, seen=a.seen | b.seen)


def _covering(item: PagedEntry) -> LogCursor:
    """A cursor covering ``item``: its own (settled items) or one past its entry (fresh)."""
    entry = item.entry
    if item.cursor.covers(entry):
        return item.cursor
    past = LogCursor(timestamp_ns=entry.timestamp_ns, seen=frozenset({entry.key}))
    return later(item.cursor, past)


#: What ends a viewer: the error it raises, or None (the tail stopped with no error).
_End = BaseException | None

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Viewer:
    #: Batches of items (one wake-up of the viewer per batch, not per line: a Docker
    #: chunk holds many lines), then what ended it.
    queue: asyncio.Queue[list[PagedEntry] | _End] = field(default_factory=asyncio.Queue)
    #: Items queued and not yet taken, at most ``limit``.
    pending: int = 0
    limit: int = field(default_factory=lambda: VIEWER_QUEUE)

    def put(self, items: list[PagedEntry]) -> bool:
        """Hand ``items`` over; False when the viewer is too far behind to take them."""
        if self.pending + len(items) > self.limit:
            return False
        self.pending += len(items)
        self.queue.put_nowait(items)
        return True

    def end(self, why: _End) -> None:
        """The viewer's last item, after what is queued (at most ``limit`` items)."""
        self.queue.put_nowait(why)


class SharedTail:
    """One store tail of one query, fanned out to its viewers."""

    def __init__(
        self,
        store: LogStore,
        query: LogQuery,
        start: LogCursor,
        on_end: Callable[[SharedTail], None],
        docker_host: str | None = None,
    ) -> None:
        self._store = store
        self._query = query
        self._start = start
        self._on_end = on_end
        #: The app's Docker door, when this tail follows its runners (else None).
        self._docker_host = docker_host
        #: The store tail's position: the cursor of every item, whichever source it came from.
        self._cursor = start
        #: (timestamp_ns, key) of entries delivered lately, from either source, oldest
        #: first (see SEEN_MARGIN_NS): the second copy of each is dropped.
        self._seen: set[tuple[int, str]] = set()
        self._seen_order: collections.deque[tuple[int, str]] = collections.deque()
        self.held: collections.deque[PagedEntry] = collections.deque()
        #: Every entry the shared tail does not hold (dropped, or before it started) is
        #: covered by this cursor.
        self.floor = start
        self.viewers: set[_Viewer] = set()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    def join(self, cursor: LogCursor) -> _Viewer | None:
        """A new viewer, replayed what its cursor misses; None if that can't be done."""
        if not covers(cursor, self.floor):
            return None
        viewer = _Viewer()
        missed = [item for item in self.held if not cursor.covers(item.entry)]
        if missed and not viewer.put(missed):
            return None
        self.viewers.add(viewer)
        return viewer

    def leave(self, viewer: _Viewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers and self.task is not None:
            self._on_end(self)  # no viewer joins a tail that is stopping
            self.task.cancel()

    async def _run(self) -> None:
        end: _End = None
        follow = None
        if self._docker_host is not None:
            follow = asyncio.get_running_loop().create_task(self._follow_runners())
        try:
            async for item in self._store.tail(self._query, cursor=self._start):
                self._cursor = item.cursor
                if follow is None:
                    self._deliver([item])
                    continue
                self._forget_covered()
                if self._first(item.entry):
                    self._deliver([item])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every viewer learns why it ended
            end = exc
        finally:
            if follow is not None:
                follow.cancel()
            self._on_end(self)
            for viewer in self.viewers:
                viewer.end(end)
            self.viewers.clear()

    def _deliver(self, items: list[PagedEntry]) -> None:
        for item in items:
            self._hold(item)
        for viewer in list(self.viewers):
            if not viewer.put(items):
                self.viewers.discard(viewer)
                viewer.end(ViewerBehind("the live view fell behind"))

    def _first(self, entry: LogEntry) -> bool:
        """Whether ``entry`` is new to this tail (then it is remembered as delivered)."""
        ident = (entry.timestamp_ns, entry.key)
        if ident in self._seen:
            return False
        self._seen.add(ident)
        self._seen_order.append(ident)
        if len(self._seen_order) > MAX_SEEN:
            self._seen.discard(self._seen_order.popleft())
        return True

    def _forget_covered(self) -> None:
        edge = self._cursor.timestamp_ns - SEEN_MARGIN_NS
        order = self._seen_order
        # Docker's lines come in time order per runner: the oldest are at the left.
        while order and order[0][0] < edge:
            self._seen.discard(order.popleft())

    async def _follow_runners(self) -> None:
        """Follow the deployment's running runners until the tail ends; a failure of
        Docker leaves the store tail alone, and is tried again a little later."""
        assert self._docker_host is not None
        streams = (self._query.stream,) if self._query.stream else ("stdout", "stderr")
        since: dict[str, int] = {}  # per runner: from its last line (a follow taken up again)
        follows: dict[str, asyncio.Task[None]] = {}
        idle_since = time.monotonic()
        async with runner_follow.docker_client(self._docker_host, timeout=10.0) as http:
            try:
                while True:
                    try:
                        runners = await runner_follow.running_runners(http, self._query)
                    except runner_follow.FollowUnavailable:
                        runners = []
                    for runner in runners:
                        task = follows.get(runner.id)
                        if task is None or task.done():
                            start = since.get(runner.id, self._start.timestamp_ns)
                            follows[runner.id] = asyncio.get_running_loop().create_task(
                                self._follow_one(http, runner, start, streams, since)
                            )
                    following = any(not task.done() for task in follows.values())
                    if following:
                        idle_since = time.monotonic()
                    idle_for = time.monotonic() - idle_since
                    await asyncio.sleep(look_interval(following=following, idle_for=idle_for))
            finally:
                for task in follows.values():
                    task.cancel()
                await asyncio.gather(*follows.values(), return_exceptions=True)

    async def _follow_one(
        self,
        http: httpx.AsyncClient,
        runner: runner_follow.Runner,
        since_ns: int,
        streams: tuple[str, ...],
        since: dict[str, int],
    ) -> None:
        try:
            async for entries in runner_follow.follow_runner(
                http, runner, since_ns=since_ns, streams=streams
            ):
                since[runner.id] = entries[-1].timestamp_ns
                # Older than the store tail's position (less the margin): the store
                # delivered it, if it holds it.
                edge = self._cursor.timestamp_ns - SEEN_MARGIN_NS
                new = [
                    PagedEntry(entry=entry, cursor=self._cursor)
                    for entry in entries
                    if entry.timestamp_ns >= edge
                    and not self._cursor.covers(entry)
                    and not self._start.covers(entry)
                    and self._first(entry)
                ]
                if new:
                    self._deliver(new)
        except runner_follow.FollowUnavailable as exc:
            # The store tail carries on; the next look takes the follow up again.
            log.info("live view: %s", exc)

    def _hold(self, item: PagedEntry) -> None:
        self.held.append(item)
        while len(self.held) > HELD_ITEMS:
            self.floor = later(self.floor, _covering(self.held.popleft()))


class TailHub:
    """The shared tails of one store, by query (normalised as the live tail asks it)."""

    def __init__(self, store: LogStore) -> None:
        self._store = store
        self._docker_host = _docker_door(store)
        self._tails: dict[LogQuery, SharedTail] = {}
        #: Shared tails are tasks of this event loop (the app's one loop).
        self.loop = asyncio.get_running_loop()

    def tails(self) -> int:
        return len(self._tails)

    async def follow(self, query: LogQuery, cursor: LogCursor | None) -> AsyncIterator[PagedEntry]:
        """The live tail of ``query`` after ``cursor`` (see :meth:`LogStore.tail`; no
        cursor: from now on)."""
        if cursor is None:
            cursor = LogCursor(timestamp_ns=_now_ns())
        if not _hashable(query):  # a query part that can't key a dict: a tail of its own
            async for item in self._store.tail(query, cursor=cursor):
                yield item
            return
        shared = self._tails.get(query)
        viewer = shared.join(cursor) if shared is not None else None
        if viewer is None and shared is None:
            follow = self._docker_host is not None and runner_follow.follows(query)
            shared = SharedTail(
                self._store,
                query,
                cursor,
                self._forget,
                docker_host=self._docker_host if follow else None,
            )
            self._tails[query] = shared
            shared.start()
            viewer = shared.join(cursor)
        if viewer is None or shared is None:
            # Older than what the shared tail holds: a tail of its own.
            async for item in self._store.tail(query, cursor=cursor):
                yield item
            return
        try:
            while True:
                got = await viewer.queue.get()
                if isinstance(got, list):
                    viewer.pending -= len(got)
                    for item in got:
                        if not cursor.covers(item.entry):
                            yield item
                    continue
                if got is None:
                    return
                raise got
        finally:
            shared.leave(viewer)

    def _forget(self, shared: SharedTail) -> None:
        for query, tail in list(self._tails.items()):
            if tail is shared:
                del self._tails[query]


def _docker_door(store: LogStore) -> str | None:
    """The app's read-only Docker door, if the live view follows runners through it: set
    (``log_follow_docker_host``), and a store other than Loki (which keeps the store
    path)."""
    settings = getattr(store, "settings", None)
    if not isinstance(settings, Settings) or settings.log_store == "loki":
        return None
    return settings.log_follow_docker_host or None


def _hashable(query: LogQuery) -> bool:
    try:
        hash(query)
    except TypeError:
        return False
    return True


def _now_ns() -> int:
    return time.time_ns()


_HUBS: weakref.WeakKeyDictionary[object, TailHub] = weakref.WeakKeyDictionary()


def hub_of(store: LogStore) -> TailHub:
    """The hub of ``store`` in the running event loop (the app holds one store and runs
    one loop, so one hub per process)."""
    hub = _HUBS.get(store)
    if hub is None or hub.loop is not asyncio.get_running_loop():
        hub = _HUBS[store] = TailHub(store)
    return hub
