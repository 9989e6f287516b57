"""Each drain's loop: read the project's settled lines after the drain's cursor, send
them, and move the cursor only once the receiver took them (at least once).

A round reads up to ``batch_lines`` stored lines after the cursor, up to the settled end
(``log_tail_delay_seconds`` ago, and never past what the store has ingested, as the live
tail does), keeps those the drain's filters pass, sends them as one batch, then saves the
new cursor. A failed send saves the error and waits, doubling the pause up to
``max_retry_seconds`` (with jitter, so drains failing together spread out), then sends
the same lines again. The store is the buffer; it is bounded: a drain more than
``max_lines_behind`` lines behind skips the oldest of them and counts them as skipped.
Every drain has its own task (:func:`run_fleet`), so a slow receiver delays only itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.core.labels import ENVIRONMENT_LABEL
from devpush.logs.entries import LogEntry, VolumePoint
from devpush.logs.levels import LEVELS
from devpush.logs.paging import LogCursor
from devpush.logs.query import LogQuery, to_ns
from devpush.logs.store import INGEST_MARGIN_NS, LogStore
from devpush.models import (
    Environment,
    EnvironmentKind,
    LogDrain,
    Project,
    utcnow,
)
from devpush.services.drains.configure import drain_secrets
from devpush.services.drains.records import TEST_SOURCE, DrainLine, entry_source
from devpush.services.drains.senders import DeliveryError, DrainTarget, send_batch
from devpush.units import SECOND_NS

log = logging.getLogger(__name__)

#: How far behind the settled end a caught-up drain's cursor stays: a line the store makes
#: searchable this late is still sent.
LATE_LINES_NS: Final = 60 * SECOND_NS
#: How often the fleet looks for added and removed drains.
FLEET_POLL_SECONDS: Final = 2.0


@dataclass(frozen=True, slots=True)
class DrainTiming:
    """The loop's pace; tests shorten it, the worker uses the defaults."""

    #: Pause between rounds once a drain has caught up.
    poll_seconds: float = 1.0
    #: Stored lines read per round (one batch at most this long).
    batch_lines: int = 500
    #: The first pause after a failure, doubled each failure up to ``max_retry_seconds``.
    first_retry_seconds: float = 1.0
    max_retry_seconds: float = 30.0
    #: The bounded buffer: lines past this many behind are skipped, oldest first.
    max_lines_behind: int = 100_000


def retry_delay(failures: int, timing: DrainTiming, rng: random.Random) -> float:
    """Exponential back-off with jitter: between half and all of the doubled pause."""
    doubled = timing.first_retry_seconds * 2.0 ** min(failures - 1, 30)
    ceiling = min(timing.max_retry_seconds, doubled)
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class IngestedUntil(Protocol):
    async def ingested_until(self) -> int | None: ...


def passes(drain: LogDrain, entry: LogEntry, *, production_id: str | None) -> bool:
    """Whether the drain's filters (environment, source, level) let ``entry`` through."""
    if entry_source(entry) not in drain.sources:
        return False
    in_production = entry.labels.get(ENVIRONMENT_LABEL) == production_id
    if drain.environment is EnvironmentKind.PREVIEW and in_production:
        return False
    if drain.environment is EnvironmentKind.PRODUCTION and not in_production:
        return False
    if drain.min_level is not None:
        level = DrainLine.of(entry).level
        if level is None or LEVELS.index(level) > LEVELS.index(drain.min_level):
            return False
    return True


def production_id(session: Session, project_id: str) -> str | None:
    return session.scalar(
        select(Environment.id).where(
            Environment.project_id == project_id, Environment.kind == EnvironmentKind.PRODUCTION
        )
    )


def drain_target(
    drain: LogDrain, project: Project, *, fernet: Fernet, settings: Settings
) -> DrainTarget:
    return DrainTarget(
        drain_id=drain.id,
        kind=drain.kind,
        url=drain.url,
        secrets=drain_secrets(drain, fernet=fernet),
        project_slug=project.slug,
        # The bound of any call devpush makes to a user's receiver (a notification's too).
        timeout=settings.notification_timeout_seconds,
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one round needs, read from the database before any I/O."""

    drain: LogDrain
    target: DrainTarget
    cursor: LogCursor
    production_id: str | None


@dataclass(kw_only=True, eq=False)
class DrainPump:
    """Delivers drains' lines from one log store; one :meth:`run` per drain."""

    sessions: sessionmaker[Session]
    store: LogStore
    http: httpx.AsyncClient
    fernet: Fernet
    settings: Settings
    timing: DrainTiming = DrainTiming()
    clock: Callable[[], int] = time.time_ns
    # Jitter only spreads retries out: no secret depends on it.
    rng: random.Random = field(default_factory=random.Random)
    tls: ssl.SSLContext | None = None
    #: The store's newest line, and when it last changed (see _settled_end).
    _ingested: tuple[int | None, int] = field(default=(None, 0), init=False)

    async def run(self, drain_id: str) -> None:
        """Deliver until the drain is removed; a failed round is recorded and retried."""
        failures = 0
        while True:
            try:
                more = await self.round(drain_id)
            except Exception as exc:  # recorded, then retried
                failures += 1
                message = str(exc) if isinstance(exc, DeliveryError) else _store_error(exc)
                if not self._record_error(drain_id, message):
                    return
                await asyncio.sleep(retry_delay(failures, self.timing, self.rng))
                continue
            if more is None:
                return  # removed
            failures = 0
            if not more:
                await asyncio.sleep(self.timing.poll_seconds)

    async def round(self, drain_id: str) -> bool | None:
        """One batch; True when more lines wait, None when the drain is gone."""
        plan = self._plan(drain_id)
        if plan is None:
            return None
        settled_end = await self._settled_end()
        if settled_end <= plan.cursor.timestamp_ns:
            return False
        query = LogQuery(
            project_id=plan.drain.project_id,
            environment_id=(
                plan.production_id
                if plan.drain.environment is EnvironmentKind.PRODUCTION and plan.production_id
                else None
            ),
            start=plan.cursor.timestamp_ns,
            end=settled_end,
            direction="forward",
            limit=self.timing.batch_lines,
        )
        page = await self.store.page(query, cursor=plan.cursor)
        if page.partial:
            raise DeliveryError("some log storage nodes did not answer; waiting for them")
        lines = [
            DrainLine.of(item.entry)
            for item in page.items
            if passes(plan.drain, item.entry, production_id=plan.production_id)
        ]
        if lines:
            try:
                await send_batch(self._target(plan), lines, http=self.http)
            except DeliveryError:
                # The status page shows the backlog growing while the receiver is down.
                with contextlib.suppress(Exception):
                    self._record_behind(drain_id, await self._behind(query, plan.cursor))
                raise
        cursor = page.cursor or plan.cursor
        if page.exhausted and cursor.timestamp_ns < settled_end - LATE_LINES_NS:
            # Every line before the settled end was read: a quiet project's window stops
            # growing, yet still covers lines the store makes searchable a little late.
            cursor = LogCursor(timestamp_ns=settled_end - LATE_LINES_NS)
        behind, skipped = 0, 0
        if not page.exhausted:
            behind = await self._behind(query, cursor)
            if behind > self.timing.max_lines_behind:
                cursor, skipped = await self._skip(query, cursor)
                behind -= skipped
        self._record_progress(drain_id, cursor=cursor, sent=lines, behind=behind, skipped=skipped)
        return not page.exhausted

    def _target(self, plan: _Plan) -> DrainTarget:
        if self.tls is None:
            return plan.target
        return dataclasses.replace(plan.target, tls=self.tls)

    def _plan(self, drain_id: str) -> _Plan | None:
        with self.sessions() as session:
            drain = session.get(LogDrain, drain_id)
            if drain is None:
                return None
            project = session.get(Project, drain.project_id)
            if project is None:
                return None
            cursor = (
                LogCursor.decode(drain.cursor)
                if drain.cursor
                else LogCursor(timestamp_ns=to_ns(_aware(drain.created_at)))
            )
            target = drain_target(drain, project, fernet=self.fernet, settings=self.settings)
            return _Plan(
                drain=drain,
                target=target,
                cursor=cursor,
                production_id=production_id(session, drain.project_id),
            )

    async def _settled_end(self) -> int:
        """Lines before this are all in the store: the live tail's settled end, and never
        past what the store has ingested while that still moves (a collector sending its
        backlog after an outage, oldest first). Once the store's newest line has stayed
        the same for the settle delay, nothing is on its way: the last lines of a quiet
        project are sent too."""
        now = self.clock()
        settle_ns = round(self.settings.log_tail_delay_seconds * SECOND_NS)
        end = now - settle_ns
        ingested_until = getattr(self.store, "ingested_until", None)
        if ingested_until is None:
            return end
        ingested = await ingested_until()
        if ingested is None:
            return end
        if ingested != self._ingested[0]:
            self._ingested = (ingested, now)
        if now - self._ingested[1] < settle_ns:
            end = min(end, ingested - INGEST_MARGIN_NS)
        return end

    async def _counts(self, query: LogQuery, start_ns: int, buckets: int) -> list[VolumePoint]:
        """Lines per bucket over ``[start_ns, query.end)``, all series summed, oldest first."""
        end_ns = query.end_ns or self.clock()
        step_ms = max(1, -(-(end_ns - start_ns) // (buckets * 1_000_000)))
        ranged = LogQuery(
            project_id=query.project_id,
            environment_id=query.environment_id,
            start=start_ns,
            end=end_ns,
        )
        totals: dict[int, int] = {}
        for series in await self.store.volume(ranged, step=timedelta(milliseconds=step_ms)):
            for point in series.points:
                totals[point.timestamp_ns] = totals.get(point.timestamp_ns, 0) + point.count
        return [VolumePoint(start, count) for start, count in sorted(totals.items())]

    async def _behind(self, query: LogQuery, cursor: LogCursor) -> int:
        """About how many stored lines wait after ``cursor`` (before the filters)."""
        return sum(point.count for point in await self._counts(query, cursor.timestamp_ns, 1))

    async def _skip(self, query: LogQuery, cursor: LogCursor) -> tuple[LogCursor, int]:
        """A cursor past all but about the newest ``max_lines_behind`` lines, and how many
        lines it skips (the newest bucket of the count is kept whole)."""
        counts = await self._counts(query, cursor.timestamp_ns, 100)
        kept = 0
        keep_from = len(counts)
        for index in range(len(counts) - 1, -1, -1):
            point = counts[index]
            if keep_from < len(counts) and kept + point.count > self.timing.max_lines_behind:
                break
            kept += point.count
            keep_from = index
        if keep_from >= len(counts) or counts[keep_from].timestamp_ns <= cursor.timestamp_ns:
            return cursor, 0
        skipped = sum(point.count for point in counts[:keep_from])
        return LogCursor(timestamp_ns=counts[keep_from].timestamp_ns), skipped

    def _record_progress(
        self,
        drain_id: str,
        *,
        cursor: LogCursor,
        sent: Sequence[DrainLine],
        behind: int,
        skipped: int,
    ) -> None:
        with self.sessions() as session:
            drain = session.get(LogDrain, drain_id)
            if drain is None:
                return
            drain.cursor = cursor.encode()
            drain.lines_behind = behind
            if sent:
                drain.delivered_lines += len(sent)
                drain.last_delivery_at = utcnow()
            if skipped:
                drain.skipped_lines += skipped
                log.warning(
                    "log drain %s was %d lines behind: skipped %d", drain_id, behind, skipped
                )
            session.commit()

    def _record_behind(self, drain_id: str, behind: int) -> None:
        with self.sessions() as session:
            drain = session.get(LogDrain, drain_id)
            if drain is not None:
                drain.lines_behind = behind
                session.commit()

    def _record_error(self, drain_id: str, message: str) -> bool:
        """Save the error on the drain; False when it is gone."""
        with self.sessions() as session:
            drain = session.get(LogDrain, drain_id)
            if drain is None:
                return False
            drain.last_error = message
            drain.last_error_at = utcnow()
            session.commit()
        log.info("log drain %s: %s", drain_id, message)
        return True


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _store_error(exc: BaseException) -> str:
    # Not the receiver's fault: the store (or the database) did not answer this round.
    log.warning("log drain round failed", exc_info=exc)
    return f"the log store could not be read: {type(exc).__name__}"


async def send_test_line(
    session: Session,
    *,
    drain: LogDrain,
    project: Project,
    fernet: Fernet,
    settings: Settings,
) -> str | None:
    """Send one test line now; record the result on the drain. None: delivered, else why not."""
    now_ns = time.time_ns()
    line = DrainLine(
        id=f"{now_ns}-test",
        timestamp_ns=now_ns,
        message=f"devpush test line for drain {drain.id} of project {project.slug}",
        source=TEST_SOURCE,
        level="info",
        project_id=project.id,
        environment_id="",
        deployment_id="",
        branch="",
    )
    target = drain_target(drain, project, fernet=fernet, settings=settings)
    try:
        async with httpx.AsyncClient() as http:  # one request: no client to keep
            await send_batch(target, [line], http=http)
    except DeliveryError as exc:
        drain.last_error = str(exc)
        drain.last_error_at = utcnow()
        session.commit()
        return str(exc)
    drain.last_delivery_at = utcnow()
    session.commit()
    return None


async def run_fleet(pump: DrainPump, *, stop: asyncio.Event) -> None:
    """One task per drain, started and stopped as drains are added and removed."""
    tasks: dict[str, asyncio.Task[None]] = {}
    try:
        while not stop.is_set():
            with pump.sessions() as session:
                ids = set(session.scalars(select(LogDrain.id)))
            for drain_id in list(tasks):
                if drain_id not in ids or tasks[drain_id].done():
                    tasks.pop(drain_id).cancel()
            for drain_id in ids - tasks.keys():
                tasks[drain_id] = asyncio.create_task(pump.run(drain_id), name=f"drain-{drain_id}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLEET_POLL_SECONDS)
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
