"""A project's runner limits: the floor and the server's maximums, the container's spec,
and Docker's out-of-memory verdict in words."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from devpush.core.config import Settings
from devpush.core.errors import InvalidInput
from devpush.services.resources import (
    Limits,
    ResourceLimitError,
    check_limits,
    memory_limit_mb,
    out_of_memory,
    out_of_memory_message,
)
from devpush.services.runner import restart_script, runner_container_spec
from tests.fixtures.runner import printed_lines, runner_spec

SETTINGS = Settings(
    runner_memory="512m", runner_cpus=1.0, runner_max_memory_mb=1024, runner_max_cpus=2
)
SPEC = runner_spec()


def test_limits_within_the_maximums_pass() -> None:
    check_limits(SETTINGS, memory_mb=1024, cpus=2)
    check_limits(SETTINGS, memory_mb=None, cpus=None)


@pytest.mark.parametrize(
    ("memory_mb", "cpus", "field", "message"),
    [
        (2048, None, "memory_mb", "2048 MB is more than this server allows (at most 1024 MB)"),
        (None, 2.5, "cpus", "2.5 is more than this server allows (at most 2)"),
        (8, None, "memory_mb", "at least 16 MB"),
        (None, 0, "cpus", "at least 0.01"),
    ],
)
def test_limits_outside_the_bounds_are_refused_saying_the_bound(
    memory_mb: int | None, cpus: float | None, field: str, message: str
) -> None:
    with pytest.raises(ResourceLimitError) as caught:
        check_limits(SETTINGS, memory_mb=memory_mb, cpus=cpus)
    assert caught.value.field == field
    assert message in caught.value.message
    assert isinstance(caught.value, InvalidInput) and caught.value.http_status == 422


def test_a_project_without_limits_gets_the_servers_defaults() -> None:
    assert Limits.of(SETTINGS, memory_mb=None, cpus=None) == Limits("512m", 1.0)
    assert Limits.of(SETTINGS, memory_mb=64, cpus=0.25) == Limits("64m", 0.25)


def test_the_runner_is_created_with_the_projects_limits() -> None:
    default = runner_container_spec(spec=SPEC, environment={}, settings=SETTINGS)
    assert (default["mem_limit"], default["nano_cpus"]) == ("512m", 1_000_000_000)
    own = dataclasses.replace(SPEC, memory="64m", cpus=0.25)
    kwargs = runner_container_spec(spec=own, environment={}, settings=SETTINGS)
    assert (kwargs["mem_limit"], kwargs["nano_cpus"]) == ("64m", 250_000_000)


def test_out_of_memory_is_read_from_dockers_state() -> None:
    killed = {"State": {"OOMKilled": True, "ExitCode": 137}, "HostConfig": {"Memory": 64 << 20}}
    assert out_of_memory(killed)
    assert memory_limit_mb(killed) == 64
    assert out_of_memory_message(killed, what="Start") == (
        "Start ran out of memory (its limit is 64 MB) and was killed"
    )
    assert not out_of_memory({"State": {"OOMKilled": False, "ExitCode": 137}})
    assert out_of_memory_message({"State": {}}, what="The app") == (
        "The app ran out of memory and was killed"
    )


def test_a_restart_script_starts_the_app_without_building(tmp_path: Path) -> None:
    script = restart_script(start="echo started; echo $0", reason="check failed\n3 times")
    assert printed_lines(script, tmp_path) == [
        "==> Restart: check failed",
        "==> Start: echo started; echo $0",
        "started",
        "sh",
    ]
