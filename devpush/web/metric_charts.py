"""The deployment page's metric charts, drawn server-side as small inline SVG (no script).

Pure: a range of samples in, the charts' polylines and labels out; the template
(``devpush/templates/metrics/partials/_charts.html``) only places them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Final

from devpush.services.metrics import MetricsRange, Sample
from devpush.units import human_bytes

WIDTH: Final = 320
HEIGHT: Final = 80


def cores(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} cores"


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    title: str
    #: The newest figure, as users read it.
    latest: str
    #: The top of the y axis, as users read it.
    top: str
    #: Its lines: each one's name (a CSS class too) → its SVG polyline points.
    series: dict[str, str]


def _points(
    values: Sequence[tuple[datetime, float]], *, since: datetime, span: float, top: float
) -> str:
    """SVG polyline points: time across (``since`` at the left edge), value up."""
    coords = []
    for at, value in values:
        x = (at - since).total_seconds() / span * WIDTH
        y = HEIGHT - (value / top * HEIGHT if top > 0 else 0)
        coords.append(f"{min(max(x, 0), WIDTH):.1f},{min(max(y, 0), HEIGHT):.1f}")
    return " ".join(coords)


def rates(
    samples: Sequence[Sample],
) -> tuple[list[tuple[datetime, float]], list[tuple[datetime, float]]]:
    """Received and sent bytes per second between consecutive samples (the counters only
    grow; a runner that restarted starts again from zero, and that step is left out)."""
    rx: list[tuple[datetime, float]] = []
    tx: list[tuple[datetime, float]] = []
    for before, now in pairwise(samples):
        seconds = (now.at - before.at).total_seconds()
        if seconds <= 0 or now.rx_bytes < before.rx_bytes or now.tx_bytes < before.tx_bytes:
            continue
        rx.append((now.at, (now.rx_bytes - before.rx_bytes) / seconds))
        tx.append((now.at, (now.tx_bytes - before.tx_bytes) / seconds))
    return rx, tx


def charts(found: MetricsRange) -> list[Chart]:
    """CPU (cores), memory (bytes) and network (bytes per second, received and sent)."""
    since, span = found.since, (found.until - found.since).total_seconds()
    latest = found.latest
    cpu = [(s.at, s.cpu) for s in found.samples if s.cpu is not None]
    cpu_top = max([value for _, value in cpu] + [0.1])
    memory = [(s.at, float(s.memory_bytes)) for s in found.samples]
    memory_top = max([value for _, value in memory] + [1024.0 * 1024])
    rx, tx = rates(found.samples)
    net_top = max([value for _, value in rx + tx] + [1024.0])
    known_cpu = next((s.cpu for s in reversed(found.samples) if s.cpu is not None), None)
    return [
        Chart(
            key="cpu",
            title="CPU",
            latest=cores(known_cpu),
            top=cores(cpu_top),
            series={"cpu": _points(cpu, since=since, span=span, top=cpu_top)},
        ),
        Chart(
            key="memory",
            title="Memory",
            latest=human_bytes(latest.memory_bytes) if latest else "—",
            top=human_bytes(memory_top),
            series={"memory": _points(memory, since=since, span=span, top=memory_top)},
        ),
        Chart(
            key="network",
            title="Network (in / out)",
            latest=(f"{human_bytes(rx[-1][1])}/s / {human_bytes(tx[-1][1])}/s" if rx else "—"),
            top=f"{human_bytes(net_top)}/s",
            series={
                "rx": _points(rx, since=since, span=span, top=net_top),
                "tx": _points(tx, since=since, span=span, top=net_top),
            },
        ),
    ]
