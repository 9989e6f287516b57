"""Which parts of a local run restarted lately, from its supervisord (development only).

scripts/dev/local.sh runs every process under supervisord, which restarts one that
exits. Its main log says so (``exited: collector (terminated by SIGKILL; not
expected)``, then ``spawned: 'collector' with pid 123``). With
``Settings.local_supervisor_url`` set, the log views read the tail of that log over
supervisord's XML-RPC interface and say which part restarted in the last minutes: lines
a restarted collector had not read yet show a little later. Unset (every production
server): nothing is asked and nothing is said. The views never wait on it: half a
second at most.
"""

from __future__ import annotations

import re
import signal
import xmlrpc.client
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from xml.parsers.expat import ExpatError

import httpx

from devpush.core.config import Settings

TIMEOUT_SECONDS: Final = 0.5
#: How far back a restart is news.
RECENT: Final = timedelta(minutes=5)
#: How much of the main log's tail is read: hundreds of lines.
TAIL_BYTES: Final = 64 * 1024

_STAMP = r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})"
_EXITED = re.compile(rf"^{_STAMP} \w+ exited: (?P<name>\S+) \((?P<why>.*); not expected\)$")
_SPAWNED = re.compile(rf"^{_STAMP} \w+ spawned: '(?P<name>[^']+)' with pid \d+$")
_SIGNAL = re.compile(r"terminated by (?P<signal>SIG[A-Z0-9]+)")


@dataclass(frozen=True, slots=True)
class Restart:
    """A program that exited unexpectedly, and when supervisord started it again."""

    name: str
    reason: str
    exited_at: datetime
    restarted_at: datetime | None

    @property
    def seconds(self) -> float | None:
        if self.restarted_at is None:
            return None
        return (self.restarted_at - self.exited_at).total_seconds()


def _stamp(text: str) -> datetime:
    # supervisord writes local time, to the millisecond.
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f")


def reason_of(why: str) -> str:
    """``terminated by SIGKILL`` -> ``signal 9``; ``exit status 1`` stays as it is."""
    match = _SIGNAL.search(why)
    if match is None:
        return why
    try:
        return f"signal {signal.Signals[match['signal']].value}"
    except KeyError:
        return why


def parse_restarts(log: str) -> list[Restart]:
    """Every unexpected exit in supervisord's main log, paired with the next spawn."""
    restarts: list[Restart] = []
    pending: dict[str, int] = {}  # program -> index of its exit still waiting for a spawn
    for line in log.splitlines():
        if exited := _EXITED.match(line):
            pending[exited["name"]] = len(restarts)
            restarts.append(
                Restart(
                    name=exited["name"],
                    reason=reason_of(exited["why"]),
                    exited_at=_stamp(exited["time"]),
                    restarted_at=None,
                )
            )
        elif (spawned := _SPAWNED.match(line)) and spawned["name"] in pending:
            index = pending.pop(spawned["name"])
            old = restarts[index]
            restarts[index] = Restart(
                name=old.name,
                reason=old.reason,
                exited_at=old.exited_at,
                restarted_at=_stamp(spawned["time"]),
            )
    return restarts


def describe(restart: Restart) -> str:
    """One line for the local run's output."""
    said = f"{restart.name} exited unexpectedly ({restart.reason})"
    if restart.seconds is None:
        return f"{said}; not restarted yet"
    return f"{said}; restarted in {restart.seconds:.1f} s"


def _rpc_target(url: str) -> tuple[str, httpx.AsyncHTTPTransport | None]:
    """supervisord's ``serverurl``: ``unix:///path/supervisor.sock`` or ``http://host:port``."""
    if url.startswith("unix://"):
        return "http://localhost/RPC2", httpx.AsyncHTTPTransport(uds=url.removeprefix("unix://"))
    return f"{url.rstrip('/')}/RPC2", None


async def read_log_tail(url: str) -> str:
    """The tail of supervisord's main log; httpx.HTTPError or ValueError when it cannot."""
    endpoint, transport = _rpc_target(url)
    body = xmlrpc.client.dumps((-TAIL_BYTES, 0), "supervisor.readLog")
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=transport) as http:
        answer = await http.post(endpoint, content=body, headers={"Content-Type": "text/xml"})
        answer.raise_for_status()
    try:
        (text,), _ = xmlrpc.client.loads(answer.text)
    except (xmlrpc.client.Fault, ExpatError) as exc:
        raise ValueError(f"supervisord did not give its log: {exc}") from exc
    return str(text)


def restart_notice(restarts: list[Restart], *, now: datetime) -> str | None:
    recent = [r for r in restarts if now - r.exited_at <= RECENT]
    if not recent:
        return None
    parts = ", ".join(
        f"{r.name} ({r.reason}, {int((now - r.exited_at).total_seconds())} s ago)" for r in recent
    )
    return (
        f"Local run: a part restarted recently: {parts}. Lines written meanwhile show once "
        "the collector has caught up."
    )


async def local_restart_notice(settings: Settings) -> str | None:
    """What the log views show after a local part restarted; None otherwise or when unset."""
    if not settings.local_supervisor_url:
        return None
    try:
        log = await read_log_tail(settings.local_supervisor_url)
    except (httpx.HTTPError, ValueError, OSError):
        return None
    return restart_notice(parse_restarts(log), now=datetime.now())
