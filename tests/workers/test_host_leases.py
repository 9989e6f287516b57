"""A host's lease: one drain or failover of a host at a time, over the queue's storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from huey import MemoryHuey

from devpush.core.errors import Conflict
from devpush.workers.host_leases import DRAIN, FAILOVER, HostBusy, HostLeases, Lease
from devpush.workers.queue import DeployQueue, huey_from_url


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_held_lease_refuses_a_second_taker_until_released() -> None:
    clock = Clock()
    leases = HostLeases(MemoryHuey().storage, clock=clock)
    assert leases.take("n1", DRAIN, 60) is None
    assert leases.take("n1", FAILOVER, 60) == Lease(DRAIN, 1060.0)
    assert leases.take("n2", FAILOVER, 60) is None  # another host's is its own
    leases.release("n1")
    assert leases.take("n1", FAILOVER, 60) is None


def test_a_lease_whose_holder_died_is_taken_over_once_it_ended() -> None:
    clock = Clock()
    leases = HostLeases(MemoryHuey().storage, clock=clock)
    assert leases.take("n1", DRAIN, 60) is None
    clock.now += 59
    assert leases.take("n1", FAILOVER, 60) is not None
    leases.renew("n1", DRAIN, 60)  # the holder is alive: 60 s more
    clock.now += 59
    assert leases.take("n1", FAILOVER, 60) is not None
    clock.now += 2
    assert leases.take("n1", FAILOVER, 60) is None
    assert leases.take("n1", DRAIN, 60) == Lease(FAILOVER, clock.now + 60)


def test_an_unreadable_lease_counts_as_stale() -> None:
    storage = MemoryHuey().storage
    storage.put_data("devpush.host-lease.n1", b"garbage")
    assert HostLeases(storage).take("n1", DRAIN, 60) is None


def test_leases_in_sqlite_storage_are_shared_by_two_processes_hueys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/queue.sqlite3"
    one, two = HostLeases(huey_from_url(url).storage), HostLeases(huey_from_url(url).storage)
    assert one.take("n1", DRAIN, 60) is None
    held = two.take("n1", FAILOVER, 60)
    assert held is not None and held.what == DRAIN


def test_a_second_drain_of_a_host_is_refused_with_409_while_the_first_one_runs() -> None:
    queue = DeployQueue(MemoryHuey(immediate=False))
    queue.enqueue_drain("n1")
    with pytest.raises(HostBusy, match="being drained already") as refused:
        queue.enqueue_drain("n1")
    assert isinstance(refused.value, Conflict) and refused.value.http_status == 409
    assert [t.args for t in queue.huey.pending()] == [("n1",)]
    # A failover of the host refuses a drain too, saying why.
    HostLeases(queue.huey.storage).take("n2", FAILOVER, 60)
    with pytest.raises(HostBusy, match="is down and its deployments are moving"):
        queue.enqueue_drain("n2")
    # The job's end releases the lease: the host may be drained again.
    HostLeases(queue.huey.storage).release("n1")
    queue.enqueue_drain("n1")
