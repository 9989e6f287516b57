"""A runner's figures from one answer of the engine's stats endpoint (pure: no Docker call).

``GET /containers/<id>/stats?stream=false`` answers cumulative counters: the CPU time the
container used and the host's CPU time (both in nanoseconds), the memory in use, and the
bytes each interface received and sent. CPU as cores is a rate, so it needs two readings:
the answer's own ``precpu_stats`` (a plain answer, which the engine holds back about a
second to take it) or, with ``one-shot=true`` (API 1.41+: an answer at once, an empty
``precpu_stats``), the reading the sampler kept from its previous round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CpuReading:
    """Cumulative counters at one moment: the container's CPU time and the host's."""

    usage_ns: int
    system_ns: int
    online_cpus: int

    @classmethod
    def of(cls, cpu_stats: dict[str, Any] | None) -> CpuReading | None:
        """None when the engine left the block empty (a one-shot answer's ``precpu_stats``,
        a container that just started)."""
        if not cpu_stats:
            return None
        usage = int((cpu_stats.get("cpu_usage") or {}).get("total_usage") or 0)
        system = int(cpu_stats.get("system_cpu_usage") or 0)
        if system == 0:
            return None
        online = int(cpu_stats.get("online_cpus") or 0) or len(
            (cpu_stats.get("cpu_usage") or {}).get("percpu_usage") or []
        )
        return cls(usage_ns=usage, system_ns=system, online_cpus=max(online, 1))


def cpu_cores(now: CpuReading, before: CpuReading | None) -> float | None:
    """Cores in use between two readings, as ``docker stats`` computes its percentage
    (container time over host time, times the host's CPUs), divided by 100.

    None without an earlier reading, or when the counters went back (a restarted runner).
    """
    if before is None:
        return None
    used = now.usage_ns - before.usage_ns
    elapsed = now.system_ns - before.system_ns
    if used < 0 or elapsed <= 0:
        return None
    return used / elapsed * now.online_cpus


def memory_bytes(memory_stats: dict[str, Any]) -> int:
    """Memory in use without the inactive page cache, as ``docker stats`` shows it
    (cgroup v1 names it ``total_inactive_file``, v2 ``inactive_file``)."""
    usage = int(memory_stats.get("usage") or 0)
    detail = memory_stats.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        cache = detail.get(key)
        if cache is not None and int(cache) < usage:
            return usage - int(cache)
    return usage


def network_bytes(networks: dict[str, dict[str, Any]] | None) -> tuple[int, int]:
    """(received, sent) bytes over all interfaces since the container started."""
    rx = sum(int(counters.get("rx_bytes") or 0) for counters in (networks or {}).values())
    tx = sum(int(counters.get("tx_bytes") or 0) for counters in (networks or {}).values())
    return rx, tx


@dataclass(frozen=True, slots=True)
class RunnerFigures:
    """What a sample stores, and the CPU reading the next round compares with."""

    cpu: float | None
    memory_bytes: int
    rx_bytes: int
    tx_bytes: int
    reading: CpuReading | None


def runner_figures(stats: dict[str, Any], previous: CpuReading | None) -> RunnerFigures:
    """The figures of one stats answer; ``previous`` is this runner's reading from the
    sampler's last round (used when the answer carries no ``precpu_stats``)."""
    reading = CpuReading.of(stats.get("cpu_stats"))
    before = CpuReading.of(stats.get("precpu_stats")) or previous
    rx, tx = network_bytes(stats.get("networks"))
    return RunnerFigures(
        cpu=cpu_cores(reading, before) if reading is not None else None,
        memory_bytes=memory_bytes(stats.get("memory_stats") or {}),
        rx_bytes=rx,
        tx_bytes=tx,
        reading=reading,
    )
