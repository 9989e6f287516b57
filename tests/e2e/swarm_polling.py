"""A URL asked through the test swarm's proxy without a pause while a host changes: the
drain and the replicas tests count its failures (there must be none) and its slowest
answer."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from tests.e2e.swarm_stack import SwarmStack

#: An answer slower than this counts as slow (a dial to a dead host first).
SLOW_SECONDS = 0.5


@dataclass
class Poller:
    """Asks one URL through the proxy, one request after another, until stopped."""

    stack: SwarmStack
    host: str
    answers: int = 0
    slowest: float = 0.0
    #: Answers that took longer than SLOW_SECONDS.
    slow: int = 0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                answer = self.stack.ask(self.host)
                if answer.status_code != 200:
                    self.failures.append(f"{answer.status_code} {answer.text[:80]}")
            except httpx.HTTPError as exc:
                self.failures.append(repr(exc))
            took = time.monotonic() - started
            self.slowest = max(self.slowest, took)
            self.slow += took > SLOW_SECONDS
            self.answers += 1


@contextlib.contextmanager
def polling(stack: SwarmStack, host: str) -> Iterator[Poller]:
    """A Poller of ``host`` on its own thread, stopped and joined on the way out."""
    poller = Poller(stack, host)
    thread = threading.Thread(target=poller.run, daemon=True)
    thread.start()
    try:
        yield poller
    finally:
        poller.stop.set()
        thread.join(timeout=30)
