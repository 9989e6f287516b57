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
"""

from __future__ import annotations

import asyncio
import collections
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Final

from devpush.logs.errors import LogStoreError
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.logs.query import LogQuery
from devpush.logs.store import LogStore

#: Items a shared tail holds for viewers that join or come back (about 5 MB at most);
#: at 1,000 lines/s that is the last 20 s.
HELD_ITEMS: Final = 20_000
#: Items a viewer may be behind the shared tail before it is ended (it reconnects).
VIEWER_QUEUE: Final = 50_000


class ViewerBehind(LogStoreError):
    """A viewer read more slowly than lines came; it resumes from its last cursor."""

    http_status = 503
    user_message = "The live view fell behind the lines; it resumes from the last one shown."


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


@dataclass(eq=False)
class _Viewer:
    queue: asyncio.Queue[PagedEntry | _End] = field(
        default_factory=lambda: asyncio.Queue(VIEWER_QUEUE)
    )

    def put(self, item: PagedEntry) -> bool:
        """Hand ``item`` over; False when the viewer is too far behind to take it."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True

    def end(self, why: _End) -> None:
        """The viewer's last item: what is still queued is dropped if there is no room."""
        while self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(why)


class SharedTail:
    """One store tail of one query, fanned out to its viewers."""

    def __init__(
        self,
        store: LogStore,
        query: LogQuery,
        start: LogCursor,
        on_end: Callable[[SharedTail], None],
    ) -> None:
        self._store = store
        self._query = query
        self._start = start
        self._on_end = on_end
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
        for item in self.held:
            if not cursor.covers(item.entry) and not viewer.put(item):
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
        try:
            async for item in self._store.tail(self._query, cursor=self._start):
                self._hold(item)
                for viewer in list(self.viewers):
                    if not viewer.put(item):
                        self.viewers.discard(viewer)
                        viewer.end(ViewerBehind("the live view fell behind"))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every viewer learns why it ended
            end = exc
        finally:
            self._on_end(self)
            for viewer in self.viewers:
                viewer.end(end)
            self.viewers.clear()

    def _hold(self, item: PagedEntry) -> None:
        self.held.append(item)
        while len(self.held) > HELD_ITEMS:
            self.floor = later(self.floor, _covering(self.held.popleft()))


class TailHub:
    """The shared tails of one store, by query (normalised as the live tail asks it)."""

    def __init__(self, store: LogStore) -> None:
        self._store = store
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
            shared = SharedTail(self._store, query, cursor, self._forget)
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
                if isinstance(got, PagedEntry):
                    if not cursor.covers(got.entry):
                        yield got
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
