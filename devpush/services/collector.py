"""Whether the log collector answers and whether its queue is full, from its own metrics.

While the log store is down the collector keeps the lines it has read in its sending
queue on disk (Docker/otelcol/config.yaml). Once that is full it stops reading, and
lines wait in each runner's json-file log, which Docker rotates: a runner that writes
more than its rotation holds (``runner_log_max_size`` x ``runner_log_max_file``) before
the collector reads again loses its oldest lines. The log views say so while it lasts.

The collector reports ``otelcol_exporter_queue_size`` and
``otelcol_exporter_queue_capacity`` (in the queue's sizer unit, bytes here) on its
metrics endpoint, ``Settings.log_collector_metrics_url``. A configured collector that
does not answer there is down (killed, crashed, restarting): new lines wait in the runners'
files meanwhile, and the views say so. Unset: nothing is known and nothing is said. The
views never wait on the collector: a dead one on the same host refuses at once, and a
hung one is given half a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devpush.core.config import Settings

QUEUE_SIZE: Final = "otelcol_exporter_queue_size"
QUEUE_CAPACITY: Final = "otelcol_exporter_queue_capacity"
#: Requests being sent, including one waiting between retries while the store is down.
IN_FLIGHT: Final = "otelcol_exporter_in_flight_requests"
#: The queue takes a request only while it fits whole, so a full queue stays a little
#: under its capacity: the receiver's requests are at most a few hundred KiB.
FULL_SHARE: Final = 0.95
#: The views ask on every render: a collector that does not answer at once is skipped.
TIMEOUT_SECONDS: Final = 0.5

#: Docker's json-file sizes (``max-size``): a number and an optional unit, powers of 1024.
_SIZE = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[kmg]?)b?$", re.IGNORECASE)
_UNITS: Final = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True, slots=True)
class QueueState:
    """The exporter queue's fill, in its sizer's unit."""

    size: float
    capacity: float

    @property
    def full(self) -> bool:
        return self.capacity > 0 and self.size >= self.capacity * FULL_SHARE


def parse_queue(metrics: str) -> QueueState | None:
    """The queue's size and capacity from Prometheus text (summed over exporters)."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name in (QUEUE_SIZE, QUEUE_CAPACITY):
                values[sample.name] = values.get(sample.name, 0.0) + sample.value
    if QUEUE_SIZE not in values or QUEUE_CAPACITY not in values:
        return None
    return QueueState(size=values[QUEUE_SIZE], capacity=values[QUEUE_CAPACITY])


def exporter_idle(metrics: str, *, queue: bool = True) -> bool:
    """Whether nothing is being sent (nor retried), and, with ``queue``, nothing queued."""
    names = (IN_FLIGHT, QUEUE_SIZE) if queue else (IN_FLIGHT,)
    found = False
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name in names:
                found = True
                if sample.value:
                    return False
    return found


def size_bytes(size: str) -> int:
    """Bytes of a json-file ``max-size`` such as ``10m``."""
    match = _SIZE.match(size.strip())
    if match is None:
        raise ValueError(f"not a json-file size: {size!r}")
    return int(float(match["number"]) * _UNITS[match["unit"].lower()])


def rotation_mib(settings: Settings) -> float:
    """How much json-file log Docker keeps per runner: what waits when the queue is full."""
    return size_bytes(settings.runner_log_max_size) * settings.runner_log_max_file / 1024**2


def queue_full_message(settings: Settings) -> str:
    return (
        "The log collector's queue is full: lines older than each runner's rotation "
        f"({rotation_mib(settings):g} MiB) may be lost."
    )


def collector_down_message(settings: Settings) -> str:
    return (
        "The log collector does not answer: new lines wait in each runner's log file and "
        f"show once it is back (beyond each runner's rotation, {rotation_mib(settings):g} MiB, "
        "the oldest are lost)."
    )


async def _metrics(url: str) -> str:
    """The collector's metrics text; httpx.HTTPError when it does not answer with them."""
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
        answer = await http.get(url)
        answer.raise_for_status()
    return answer.text


async def queue_state(settings: Settings) -> QueueState | None:
    """The queue as the collector reports it now; None when it cannot be known."""
    if not settings.log_collector_metrics_url:
        return None
    try:
        return parse_queue(await _metrics(settings.log_collector_metrics_url))
    except httpx.HTTPError:
        return None


async def collector_warning(settings: Settings) -> str | None:
    """What the log views show while the collector is down or its queue is full, else None."""
    if not settings.log_collector_metrics_url:
        return None
    try:
        state = parse_queue(await _metrics(settings.log_collector_metrics_url))
    except httpx.HTTPError:
        return collector_down_message(settings)
    if state is None or not state.full:
        return None
    return queue_full_message(settings)
