"""Request entries in the views: bars by status class and a deployment's request stats.

The store answers by status code (``RequestStatsStore``); the classes (2xx … 5xx) are
counted here, the same for every store. A store without request stats gives None: the
views then show no request histogram or stats, and everything else as before.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from devpush.core.labels import REQUEST_SOURCE
from devpush.logs.buckets import Buckets
from devpush.logs.entries import VolumeSeries
from devpush.logs.errors import InvalidQuery
from devpush.logs.query import LogQuery
from devpush.logs.requests import (
    STATUS_CLASSES,
    STATUS_LABEL,
    RequestStats,
    RequestStatsStore,
    StatusClass,
    status_class,
)
from devpush.logs.store import LogStore

#: Bars of the request histogram (as many as the volume histogram's).
REQUEST_BARS: Final = 60


@dataclass(frozen=True, slots=True)
class StatusBar:
    """Requests in ``[start_ns, end_ns)`` by status class."""

    start_ns: int
    end_ns: int
    counts: dict[StatusClass, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def shows_requests(query: LogQuery) -> bool:
    """Whether a query's lines may include requests (not one of the runner's streams)."""
    return query.stream is None or query.stream == REQUEST_SOURCE


async def status_bars(
    store: LogStore, query: LogQuery, *, bars: int = REQUEST_BARS
) -> list[StatusBar] | None:
    """The query's requests per bar over its range, by status class (None: the store has
    no request stats, or the query selects a runner stream)."""
    if not isinstance(store, RequestStatsStore) or not shows_requests(query):
        return None
    start, end = query.start_ns, query.end_ns
    if start is None or end is None:
        raise InvalidQuery("a request histogram needs a start and an end")
    buckets = Buckets.over(start, end, at_most=bars)
    series = await store.status_volume(query, step=buckets.step)
    classes: dict[StatusClass, list[VolumeSeries]] = {kind: [] for kind in STATUS_CLASSES}
    for one in series:
        text = one.labels.get(STATUS_LABEL, "")
        kind = status_class(int(text) if text.isdigit() else None)
        if kind != "other":
            classes[kind].append(one)
    totals = {kind: buckets.totals(of_kind) for kind, of_kind in classes.items()}
    return [
        StatusBar(*buckets.edges(i), {kind: totals[kind][i] for kind in STATUS_CLASSES})
        for i in range(len(buckets))
    ]


async def request_stats(store: LogStore, query: LogQuery) -> RequestStats | None:
    """Count, error rate and p50/p95 duration of the query's requests (None: the store has
    no request stats)."""
    if not isinstance(store, RequestStatsStore):
        return None
    return await store.request_stats(dataclasses.replace(query, stream=REQUEST_SOURCE))
