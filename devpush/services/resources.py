"""A project's runner limits: its own memory and CPUs, or the server's defaults.

An admin sets the defaults and the maximums (``DEVPUSH_RUNNER_MEMORY``, ``RUNNER_CPUS``,
``RUNNER_MAX_MEMORY_MB``, ``RUNNER_MAX_CPUS``); a project asking for more than a maximum
is refused with a 422 saying the maximum. A runner killed by the kernel for going over
its memory is told apart from a crash by Docker's ``State.OOMKilled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from devpush.core.config import Settings
from devpush.core.errors import InvalidInput
from devpush.models import Project

#: The fewest megabytes a runner may get (Docker refuses less than 6 MB).
MIN_MEMORY_MB: Final = 16
#: The smallest CPU share a project may ask for.
MIN_CPUS: Final = 0.01


class ResourceLimitError(InvalidInput):
    """A project's memory or CPUs outside what the server allows."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        #: The setting refused: ``memory_mb`` or ``cpus``.
        self.field = field


@dataclass(frozen=True, slots=True)
class Limits:
    """What one runner gets: Docker's memory notation (``512m``) and a number of CPUs."""

    memory: str
    cpus: float

    @classmethod
    def of(cls, settings: Settings, *, memory_mb: int | None, cpus: float | None) -> Limits:
        return cls(
            memory=settings.runner_memory if memory_mb is None else f"{memory_mb}m",
            cpus=settings.runner_cpus if cpus is None else cpus,
        )


def check_limits(settings: Settings, *, memory_mb: int | None, cpus: float | None) -> None:
    """Refuse a project's limits below the floor or above the server's maximums."""
    if memory_mb is not None:
        _check_range("memory_mb", memory_mb, MIN_MEMORY_MB, settings.runner_max_memory_mb, "{} MB")
    if cpus is not None:
        _check_range("cpus", cpus, MIN_CPUS, settings.runner_max_cpus, "{:g}")


def _check_range(field: str, value: float, floor: float, ceiling: float, shown: str) -> None:
    """Refuse ``value`` outside [floor, ceiling]; ``shown`` writes a figure (with its unit)."""
    if value < floor:
        raise ResourceLimitError(f"{field}: at least {shown.format(floor)}", field=field)
    if value > ceiling:
        raise ResourceLimitError(
            f"{field}: {shown.format(value)} is more than this server allows"
            f" (at most {shown.format(ceiling)})",
            field=field,
        )


def set_limits(
    settings: Settings, project: Project, *, memory_mb: int | None, cpus: float | None
) -> None:
    """Check, then set; None: the server's default."""
    check_limits(settings, memory_mb=memory_mb, cpus=cpus)
    project.memory_mb, project.cpus = memory_mb, cpus


def out_of_memory(attrs: dict[str, Any]) -> bool:
    """Whether Docker says the kernel killed the container for its memory limit."""
    return bool((attrs.get("State") or {}).get("OOMKilled"))


def memory_limit_mb(attrs: dict[str, Any]) -> int | None:
    """The container's memory limit in MB (None: unlimited or unknown)."""
    limit = (attrs.get("HostConfig") or {}).get("Memory") or 0
    return int(limit) // (1024 * 1024) or None


def out_of_memory_message(attrs: dict[str, Any], *, what: str) -> str:
    """``what`` ran out of memory, with the limit when Docker reports one."""
    limit = memory_limit_mb(attrs)
    at = f" (its limit is {limit} MB)" if limit else ""
    return f"{what} ran out of memory{at} and was killed"
