"""A runner's figures from the engine's stats answers: CPU from the deltas, memory, network."""

from __future__ import annotations

from typing import Any

import pytest

from devpush.services.runner_stats import (
    CpuReading,
    cpu_cores,
    memory_bytes,
    network_bytes,
    runner_figures,
)


def cpu_block(usage: int, system: int, online: int = 2) -> dict[str, Any]:
    return {
        "cpu_usage": {"total_usage": usage, "percpu_usage": [usage // 2, usage - usage // 2]},
        "system_cpu_usage": system,
        "online_cpus": online,
    }


def test_cores_are_container_time_over_host_time_times_the_host_cpus() -> None:
    before = CpuReading(usage_ns=1_000, system_ns=10_000, online_cpus=4)
    now = CpuReading(usage_ns=3_000, system_ns=18_000, online_cpus=4)
    # 2 000 ns of container time in 8 000 ns of host time (all 4 CPUs): one core.
    assert cpu_cores(now, before) == pytest.approx(1.0)


def test_no_cores_without_an_earlier_reading_or_when_the_counters_went_back() -> None:
    now = CpuReading(usage_ns=3_000, system_ns=18_000, online_cpus=2)
    assert cpu_cores(now, None) is None
    assert cpu_cores(now, CpuReading(usage_ns=5_000, system_ns=10_000, online_cpus=2)) is None
    assert cpu_cores(now, CpuReading(usage_ns=1_000, system_ns=18_000, online_cpus=2)) is None


def test_a_reading_counts_the_cpus_when_the_engine_leaves_online_cpus_out() -> None:
    block = cpu_block(100, 1_000, online=0)
    assert CpuReading.of(block) == CpuReading(usage_ns=100, system_ns=1_000, online_cpus=2)
    # A one-shot answer's empty precpu block, and a stopped container's: no reading.
    assert CpuReading.of({"cpu_usage": {"total_usage": 0}}) is None
    assert CpuReading.of({}) is None
    assert CpuReading.of(None) is None


def test_a_plain_answer_carries_its_own_earlier_reading() -> None:
    stats = {
        "cpu_stats": cpu_block(usage=6_000_000, system=20_000_000),
        "precpu_stats": cpu_block(usage=1_000_000, system=10_000_000),
        "memory_stats": {"usage": 10_000},
        "networks": {"eth0": {"rx_bytes": 5, "tx_bytes": 7}},
    }
    figures = runner_figures(stats, previous=None)
    assert figures.cpu == pytest.approx(1.0)  # 5 ms of 10 ms host time, 2 CPUs
    assert figures.reading == CpuReading(usage_ns=6_000_000, system_ns=20_000_000, online_cpus=2)


def test_a_one_shot_answer_is_compared_with_the_previous_round() -> None:
    stats = {
        "cpu_stats": cpu_block(usage=3_000_000, system=20_000_000),
        "precpu_stats": {"cpu_usage": {"total_usage": 0}},
        "memory_stats": {"usage": 10_000},
    }
    assert runner_figures(stats, previous=None).cpu is None  # the first round
    previous = CpuReading(usage_ns=2_000_000, system_ns=16_000_000, online_cpus=2)
    assert runner_figures(stats, previous=previous).cpu == pytest.approx(0.5)


def test_memory_leaves_out_the_inactive_page_cache() -> None:
    # cgroup v1 (total_inactive_file), cgroup v2 (inactive_file), none given.
    assert memory_bytes({"usage": 1000, "stats": {"total_inactive_file": 300}}) == 700
    assert memory_bytes({"usage": 1000, "stats": {"inactive_file": 400}}) == 600
    assert memory_bytes({"usage": 1000}) == 1000
    assert memory_bytes({"usage": 100, "stats": {"inactive_file": 400}}) == 100
    assert memory_bytes({}) == 0


def test_network_sums_every_interface() -> None:
    networks = {
        "eth0": {"rx_bytes": 100, "tx_bytes": 10},
        "eth1": {"rx_bytes": 5, "tx_bytes": 1},
    }
    assert network_bytes(networks) == (105, 11)
    assert network_bytes(None) == (0, 0)
