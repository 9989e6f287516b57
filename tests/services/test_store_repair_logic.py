"""StoreRepair's rounds with a fake store, Docker and collector: when it repairs, what it
inserts, and that a round which cannot finish leaves its window for the next."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from devpush.logs.recovery import Line, Window
from devpush.services.store_repair import StoreRepair
from devpush.units import SECOND_NS

T0 = 1_796_511_890 * SECOND_NS
LABELS = {
    "devpush.project_id": "p1",
    "devpush.environment_id": "e1",
    "devpush.branch": "main",
    "devpush.deployment_id": "d1",
}


S = T0 // SECOND_NS


def docker_time(time_ns: int) -> str:
    seconds, fraction = divmod(time_ns, SECOND_NS)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


@dataclass
class FakeContainer:
    lines: list[Line]
    labels: dict[str, str] = field(default_factory=lambda: dict(LABELS))
    attrs: dict[str, Any] = field(
        default_factory=lambda: {
            "State": {"Running": True, "StartedAt": docker_time(T0 - SECOND_NS)}
        }
    )

    def logs(self, *, stdout: bool, stderr: bool, **_: Any) -> bytes:
        stream = "stdout" if stdout else "stderr"
        return b"".join(
            f"{docker_time(line.time_ns)} {line.message}\n".encode()
            for line in self.lines
            if line.stream == stream
        )


@dataclass
class FakeContainers:
    items: list[FakeContainer]

    def list(self, **_: Any) -> list[FakeContainer]:
        return self.items


@dataclass
class FakeDocker:
    containers: FakeContainers


@dataclass
class FakeStore:
    starts: list[int | None]
    held: list[Line]
    inserted: list[tuple[dict[str, str], list[Line]]] = field(default_factory=list)

    def started_s(self) -> int | None:
        return self.starts.pop(0) if len(self.starts) > 1 else self.starts[0]

    def make_searchable(self) -> None:
        pass

    def lines(self, deployment_id: str, window: Window) -> list[Line]:
        assert deployment_id == "d1"
        return [line for line in self.held if window.holds(line.time_ns)]

    def insert(self, fields: dict[str, str], lines: list[Line]) -> None:
        self.inserted.append((fields, lines))
        self.held += lines


WRITTEN = [
    Line(T0 + i * SECOND_NS // 10, "stdout" if i % 3 else "stderr", f"line {i}") for i in range(30)
]


def repair_of(store: FakeStore, clock: list[int]) -> StoreRepair:
    docker = FakeDocker(FakeContainers([FakeContainer(WRITTEN)]))
    return StoreRepair(
        store=store,
        docker=docker,  # type: ignore[arg-type]
        collector_metrics_url="http://collector.invalid/metrics",
        clock=lambda: clock[0],
        sleep=lambda seconds: None,
    )


def test_after_a_restart_exactly_the_lost_lines_go_back_with_the_runners_labels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(StoreRepair, "_idle", staticmethod(lambda url, queue: True))
    # The store kept the first 20 lines; the kill lost the last 10.
    store = FakeStore(starts=[S - 100, S - 100, None, S + 4], held=WRITTEN[:20])
    clock = [T0 + 3 * SECOND_NS]
    repair = repair_of(store, clock)
    assert repair.tick() is None  # first look
    assert repair.tick() is None  # same process
    clock[0] += SECOND_NS
    assert repair.tick() is None  # down
    assert repair.tick() == {"d1": 10}
    [(fields, lines)] = store.inserted
    assert fields == {
        "project_id": "p1",
        "environment_id": "e1",
        "branch": "main",
        "deployment_id": "d1",
    }
    assert lines == sorted(WRITTEN[20:])
    assert repair.tick() is None
    assert repair.repair(Window(0, 2**63)) == {}  # twice adds nothing


def test_a_collector_that_has_not_caught_up_leaves_the_window_for_the_next_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    idle = [False]
    monkeypatch.setattr(StoreRepair, "_idle", staticmethod(lambda url, queue: idle[0]))
    monkeypatch.setattr("devpush.services.store_repair.CATCH_UP_SECONDS", 0.05)
    store = FakeStore(starts=[S - 100, S + 4], held=WRITTEN[:20])
    clock = [T0 + 3 * SECOND_NS]
    repair = repair_of(store, clock)
    assert repair.tick() is None
    assert repair.tick() is None  # restarted, but the collector is still sending
    assert repair.pending is not None and store.inserted == []
    idle[0] = True
    assert repair.tick() == {"d1": 10}
    assert repair.pending is None


def test_a_stopped_runner_that_finished_before_the_window_is_not_read() -> None:
    early = FakeContainer(
        WRITTEN,
        attrs={
            "State": {
                "Running": False,
                "StartedAt": docker_time(T0 - 60 * SECOND_NS),
                "FinishedAt": docker_time(T0 - 50 * SECOND_NS),
            }
        },
    )
    store = FakeStore(starts=[S], held=[])
    repair = StoreRepair(
        store=store,
        docker=FakeDocker(FakeContainers([early])),  # type: ignore[arg-type]
        collector_metrics_url=None,
        sleep=lambda seconds: None,
    )
    assert repair.repair(Window(T0 - 40 * SECOND_NS, T0 + 10 * SECOND_NS)) == {}
    assert repair.repair(Window(T0 - 55 * SECOND_NS, T0 + 10 * SECOND_NS)) == {"d1": 30}
