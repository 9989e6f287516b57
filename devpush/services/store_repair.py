"""Put back the runner lines a killed VictoriaLogs lost, from Docker's json-file logs.

VictoriaLogs has no write-ahead log: a SIGKILL (or OOM kill) loses what it acknowledged
in its last seconds, and the collector never resends it. The worker polls the
store's start time (``StoreRepair.tick``, every half second); when it changed, it waits
until the collector has delivered every line written before the store died (nothing
queued, sent or retried, once the last of them has passed its receiver and batcher),
then compares each runner's lines in the loss window
(``devpush/logs/recovery.py``) as Docker kept them (through the worker's socket-proxy
door) with what the store holds, and inserts exactly the missing ones. Running it twice
adds nothing. Loki keeps a write-ahead log: it gets no repair (``store_repair`` is None).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

import docker
import httpx
from docker.models.containers import Container

from devpush.core.config import Settings
from devpush.core.labels import LABEL_PREFIX, LOG_LABELS, LOG_STREAMS, RUNNER_SELECTOR_LABEL
from devpush.logs.recovery import (
    Line,
    RecoverableStore,
    RestartWatch,
    Window,
    missing_lines,
    parse_docker_logs,
)
from devpush.services.collector import exporter_idle
from devpush.services.log_store import backend, store_url
from devpush.units import SECOND_NS, parse_rfc3339_ns

log = logging.getLogger(__name__)

#: How often the worker asks the store for its start time.
POLL_SECONDS: Final = 0.5
#: How long a line Docker wrote takes to pass the collector's receiver (its 200 ms poll)
#: and its batcher (200 ms): after that it is queued, being sent, or stored.
THROUGH_COLLECTOR_SECONDS: Final = 0.6
#: After the collector looked idle, how long before it is asked again: a batch between
#: the queue and its request in the first look shows as in flight in the second.
SETTLE_SECONDS: Final = 0.3
#: Between looks at a busy collector.
RECHECK_SECONDS: Final = 0.1
#: Without the collector's metrics, how long to let it deliver: its longest retry pause.
BLIND_SETTLE_SECONDS: Final = 6.0
#: Give up a round when the collector has not caught up by then (down, or a long
#: backlog); the window stays pending and the next poll tries again.
CATCH_UP_SECONDS: Final = 30.0
TIMEOUT_SECONDS: Final = 10.0


@dataclass
class StoreRepair:
    """The watch and the repair, for one store and one Docker engine."""

    store: RecoverableStore
    docker: docker.DockerClient
    collector_metrics_url: str | None
    clock: Callable[[], int] = time.time_ns
    sleep: Callable[[float], None] = time.sleep
    watch: RestartWatch = field(default_factory=RestartWatch)
    #: A loss window not yet repaired (a round that gave up, or restarts meanwhile).
    pending: Window | None = None

    def tick(self) -> dict[str, int] | None:
        """One poll; after a restart, the repair: the lines it inserted per deployment, or
        None when none ran."""
        window = self.watch.seen(self.store.started_s(), now_ns=self.clock())
        if window is not None:
            log.warning("the log store restarted: repairing lines it may have lost")
            self.pending = window.union(self.pending)
        if self.pending is None:
            return None
        if not self.collector_caught_up(self.pending.end_ns):
            log.warning("the log collector has not caught up: the repair waits")
            return None
        inserted = self.repair(self.pending)
        self.pending = None
        log.warning(
            "log store repaired: %d lost lines of %d deployments put back",
            sum(inserted.values()),
            len(inserted),
        )
        return inserted

    def collector_caught_up(self, written_before_ns: int) -> bool:
        """Whether the collector has delivered the lines Docker wrote before the time
        given: its exporter idle (nothing queued, nothing sent or retried) once they have
        passed its receiver, and still sending nothing a settle later."""
        through = written_before_ns + int(THROUGH_COLLECTOR_SECONDS * SECOND_NS)
        self.sleep(max(0, through - self.clock()) / SECOND_NS)
        if not self.collector_metrics_url:
            self.sleep(BLIND_SETTLE_SECONDS)
            return True
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while time.monotonic() < deadline:
            if self._idle(self.collector_metrics_url, queue=True):
                self.sleep(SETTLE_SECONDS)
                if self._idle(self.collector_metrics_url, queue=False):
                    return True
            self.sleep(RECHECK_SECONDS)
        return False

    @staticmethod
    def _idle(url: str, *, queue: bool) -> bool:
        try:
            answer = httpx.get(url, timeout=TIMEOUT_SECONDS)
            answer.raise_for_status()
        except httpx.HTTPError:
            return False
        return exporter_idle(answer.text, queue=queue)

    def repair(self, window: Window) -> dict[str, int]:
        """Insert the lines of ``window`` that Docker kept and the store lacks; how many,
        per deployment that lacked any."""
        self.store.make_searchable()
        inserted = {}
        for deployment_id, (fields, written) in runner_lines(self.docker, window).items():
            lost = missing_lines(written, self.store.lines(deployment_id, window))
            if lost:
                self.store.insert(fields, lost)
                inserted[deployment_id] = len(lost)
        if inserted:
            self.store.make_searchable()
        return inserted


def runner_lines(
    client: docker.DockerClient, window: Window
) -> dict[str, tuple[dict[str, str], list[Line]]]:
    """Per deployment: its four labels and the lines its runners wrote in ``window``."""
    found: dict[str, tuple[dict[str, str], list[Line]]] = {}
    for container in client.containers.list(all=True, filters={"label": RUNNER_SELECTOR_LABEL}):
        if not _ran_during(container, window):
            continue
        fields = {name: container.labels.get(f"{LABEL_PREFIX}{name}", "") for name in LOG_LABELS}
        lines = list(_container_lines(container, window))
        deployment_id = fields["deployment_id"]
        found.setdefault(deployment_id, (fields, []))[1].extend(lines)
    return found


def _container_lines(container: Container, window: Window) -> Iterable[Line]:
    # A second early: Docker's since/until are whole-second exact only; the window filters.
    since = max(window.start_ns // SECOND_NS - 1, 1)
    until = window.end_ns // SECOND_NS + 1
    for stream in LOG_STREAMS:
        try:
            raw = container.logs(
                stdout=stream == "stdout",
                stderr=stream == "stderr",
                timestamps=True,
                since=since,
                until=until,
            )
        except docker.errors.NotFound:
            return
        yield from parse_docker_logs(raw, stream=stream, window=window)


def _ran_during(container: Container, window: Window) -> bool:
    """Whether the container may have written in ``window`` (started before its end,
    running or finished after its start)."""
    state = container.attrs.get("State", {})
    started = _docker_time_ns(state.get("StartedAt"))
    if started is None or started >= window.end_ns:
        return False
    if state.get("Running"):
        return True
    finished = _docker_time_ns(state.get("FinishedAt"))
    return finished is None or finished >= window.start_ns


def _docker_time_ns(text: object) -> int | None:
    """A container's start or end time; None for Docker's zero time (never happened)."""
    if not isinstance(text, str) or text.startswith("0001-"):
        return None
    return parse_rfc3339_ns(text)


def store_repair(settings: Settings, client: docker.DockerClient) -> StoreRepair | None:
    """The repair for the configured store, or None when it needs none (Loki has a WAL)."""
    recovery = backend(settings.log_store).recovery
    if recovery is None:
        return None
    http = httpx.Client(base_url=store_url(settings), timeout=TIMEOUT_SECONDS)
    return StoreRepair(
        store=recovery(http),
        docker=client,
        collector_metrics_url=settings.log_collector_metrics_url,
    )
