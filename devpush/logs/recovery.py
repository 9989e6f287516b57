"""Which runner lines a restarted log store lost: the loss window and the line diff.

A store without a write-ahead log (VictoriaLogs) loses, when it is killed, the lines it
had acknowledged but not yet written to disk; the collector, told they were stored,
never sends them again. Docker's json-file logs still hold every line, so the lost ones
are found by comparing, per deployment, what Docker kept with what the store holds in
the window where the loss can lie. This module is the pure part of that repair
(``devpush/services/store_repair.py`` runs it): no I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from devpush.units import SECOND_NS

#: How far before the store was last seen alive a lost line's time can lie. Measured with
#: a 1 s flush interval: the last 2.0-2.6 s of a running stream, all of a stream younger
#: than about 6 s (5.9 s back); Docker's time is earlier still by the collector's delay
#: (0.2-0.4 s, more while it drains a backlog). 30 s is five times that; the cost is
#: reading 30 s of each runner's lines once per restart.
LOSS_MARGIN_SECONDS: Final = 30
#: Docker cuts a line longer than this into parts; only the last ends the line.
DOCKER_PART_BYTES: Final = 16 * 1024
#: The fixed-width time Docker prefixes with ``timestamps=True`` (RFC3339NanoFixed).
_DOCKER_TIME: Final = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z ")
_DOCKER_TIME_WIDTH: Final = len("2006-01-02T15:04:05.000000000Z ")


@dataclass(frozen=True, slots=True, order=True)
class Line:
    """A runner line's identity: its stream, Docker's time to the nanosecond, its text."""

    time_ns: int
    stream: str
    message: str


@dataclass(frozen=True, slots=True)
class Window:
    """Times of lines (Unix ns, ``start_ns`` included, ``end_ns`` excluded)."""

    start_ns: int
    end_ns: int

    def holds(self, time_ns: int) -> bool:
        return self.start_ns <= time_ns < self.end_ns

    def union(self, other: Window | None) -> Window:
        if other is None:
            return self
        return Window(min(self.start_ns, other.start_ns), max(self.end_ns, other.end_ns))


def loss_window(
    *,
    last_alive_ns: int,
    restarted_s: int,
    dead_ns: int,
    margin_s: int = LOSS_MARGIN_SECONDS,
) -> Window:
    """Where lines lost by a store last seen alive at ``last_alive_ns`` can lie, when it
    was seen dead (refused, or answering as a new process) at ``dead_ns`` and started
    again at ``restarted_s`` (whole seconds, as its metrics say).

    A lost line was acknowledged before the kill, so Docker wrote it before the old
    process died: before ``dead_ns`` and before the new process started. Lines written
    later were refused or not yet sent, and the collector keeps them until they are
    stored: a window reaching them could insert a line the collector is about to send.
    """
    return Window(last_alive_ns - margin_s * SECOND_NS, min((restarted_s + 1) * SECOND_NS, dead_ns))


class RestartWatch:
    """Notices that the store restarted, from its start time polled every so often."""

    def __init__(self) -> None:
        self.started_s: int | None = None
        self.alive_ns: int | None = None
        #: The first poll the store did not answer since it was last seen alive.
        self.dead_ns: int | None = None

    def seen(self, started_s: int | None, *, now_ns: int) -> Window | None:
        """Record one poll (``started_s`` None: the store did not answer); the loss window
        when the store answers with a new start time."""
        if started_s is None:
            self.dead_ns = self.dead_ns or now_ns
            return None
        window = None
        restarted = self.started_s is not None and started_s != self.started_s
        if restarted and self.alive_ns is not None:
            window = loss_window(
                last_alive_ns=self.alive_ns,
                restarted_s=started_s,
                dead_ns=self.dead_ns or now_ns,
            )
        self.started_s, self.alive_ns, self.dead_ns = started_s, now_ns, None
        return window


def missing_lines(written: Iterable[Line], stored: Iterable[Line]) -> list[Line]:
    """The lines Docker kept that the store lacks, oldest first.

    Counted as multisets: a runner may print the same text twice in one nanosecond, and
    a collector that crashed may have stored a line twice (then nothing is missing).
    """
    lacking = Counter(written)
    lacking.subtract(Counter(stored))
    return sorted(line for line, count in lacking.items() for _ in range(max(count, 0)))


def parse_docker_logs(raw: bytes, *, stream: str, window: Window) -> list[Line]:
    """The lines of one stream in ``window`` from Docker's logs with ``timestamps=True``.

    Docker prefixes each json-file record with its time; a line longer than 16 KiB is
    several records, and as only the last ends with a newline the parts arrive on one
    line, each with its time. They are joined under the first part's time, as the
    collector joins them (``recombine``). The text is what the collector stores: without
    the newline, undecodable bytes replaced.
    """
    lines = []
    for record in raw.split(b"\n")[:-1] if raw.endswith(b"\n") else raw.split(b"\n"):
        head = _DOCKER_TIME.match(record)
        if head is None:
            continue
        time_ns = _time_ns(head)
        text = _join_parts(record[head.end() :])
        if window.holds(time_ns):
            lines.append(Line(time_ns, stream, text.decode("utf-8", "replace")))
    return lines


def _time_ns(head: re.Match[bytes]) -> int:
    seconds = int(datetime.fromisoformat(head[1].decode() + "+00:00").timestamp())
    return seconds * SECOND_NS + int(head[2])


def _join_parts(text: bytes) -> bytes:
    """Drop the times of a long line's later parts (each after a full 16 KiB part)."""
    parts = []
    while len(text) > DOCKER_PART_BYTES and _DOCKER_TIME.match(text, DOCKER_PART_BYTES):
        parts.append(text[:DOCKER_PART_BYTES])
        text = text[DOCKER_PART_BYTES + _DOCKER_TIME_WIDTH :]
    parts.append(text)
    return b"".join(parts)


class RecoverableStore(Protocol):
    """What a store without a write-ahead log offers the repair (VictoriaLogs)."""

    def started_s(self) -> int | None:
        """When the store's process started (Unix s); None when it does not answer."""

    def make_searchable(self) -> None:
        """Make every line it acknowledged searchable now."""

    def lines(self, deployment_id: str, window: Window) -> list[Line]:
        """The deployment's stored lines whose time is in ``window``."""

    def insert(self, fields: dict[str, str], lines: list[Line]) -> None:
        """Store ``lines`` with ``fields`` (the four labels), as the collector would."""
