"""One move at a time per swarm host: the drain job and the failover of a down host each
hold the host's lease while they move its deployments.

The lease is a key in the queue's storage (Redis in Compose, SQLite in the local run),
which every worker and the app share, so two workers never move one host's deployments
at once, and a second drain of a host whose drain runs is refused (409). A lease has an
end (``until``, renewed before each deployment moves): a worker killed while it held one
does not block the host for good, the next taker finds it stale and takes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from devpush.core.errors import Conflict

#: The storage key of a host's lease: ``devpush.host-lease.<node id>``.
LEASE_PREFIX: Final = "devpush.host-lease."
DRAIN: Final = "drain"
FAILOVER: Final = "failover"


class HostBusy(Conflict):
    """The host's deployments are moving already (a drain or a failover)."""


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a host's lease (``drain`` or ``failover``) and until when (epoch s)."""

    what: str
    until: float

    def encode(self) -> bytes:
        return f"{self.what} {self.until:.3f}".encode()

    @classmethod
    def decode(cls, value: object) -> Lease | None:
        """The stored lease; None for anything else (absent, or unreadable: stale)."""
        if isinstance(value, memoryview):  # SQLite's blob
            value = bytes(value)
        if not isinstance(value, bytes | str):
            return None
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        what, _, until = text.partition(" ")
        try:
            return cls(what=what, until=float(until))
        except ValueError:
            return None


def busy_message(lease: Lease) -> str:
    """What a refused drain says (the page, the API, the CLI)."""
    if lease.what == DRAIN:
        return (
            "this host is being drained already: its deployments are moving, and it "
            "becomes drained once they have (its runner count shows 0)"
        )
    return (
        "this host is down and its deployments are moving to other hosts: drain it once they have"
    )


class HostLeases:
    """The hosts' leases in one huey storage (``huey.storage``)."""

    def __init__(self, storage: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self.clock = clock

    def take(self, node_id: str, what: str, seconds: float) -> Lease | None:
        """Take the host's lease for ``seconds``; None when taken, else the holder's."""
        key = LEASE_PREFIX + node_id
        mine = Lease(what, self.clock() + seconds).encode()
        if self.storage.put_if_empty(key, mine):
            return None
        held = Lease.decode(self.storage.peek_data(key))
        if held is not None and held.until > self.clock():
            return held
        # Stale (its holder died): take it over. Two takers racing here may both delete,
        # but only one of them puts.
        self.storage.delete_data(key)
        if self.storage.put_if_empty(key, mine):
            return None
        return Lease.decode(self.storage.peek_data(key)) or Lease(what, self.clock())

    def renew(self, node_id: str, what: str, seconds: float) -> None:
        """Hold the lease ``seconds`` more (its holder, before each slow step)."""
        self.storage.put_data(LEASE_PREFIX + node_id, Lease(what, self.clock() + seconds).encode())

    def release(self, node_id: str) -> None:
        self.storage.delete_data(LEASE_PREFIX + node_id)
