"""A client that asks a deployed URL through the stack's Caddy every 20 ms, in a thread.

While a test attacks the stack (kills a service, runs an update), ``Probe`` records every
request that did not answer 200: the status, or the error. Each request goes through the
published HTTPS port with the deployment's name as SNI and Host, trusting only Caddy's
own root, as a visitor's browser would (without DNS for the test domain).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

INTERVAL_SECONDS = 0.02


@dataclass
class Probe:
    root_cert: Path
    host: str
    port: int
    count: int = 0
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        context = ssl.create_default_context(cafile=str(self.root_cert))
        # A new connection each time: every request makes Caddy look its route up anew.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(verify=context, timeout=10, limits=limits) as client:
            next_at = time.monotonic()
            while not self._stop.is_set():
                self.count += 1
                started = time.strftime("%H:%M:%S")
                try:
                    response = client.get(
                        f"https://127.0.0.1:{self.port}/probe-{self.count}",
                        headers={"Host": self.host},
                        extensions={"sni_hostname": self.host},
                    )
                    if response.status_code != 200:
                        self.failures.append(f"{started} #{self.count}: {response.status_code}")
                except httpx.HTTPError as error:
                    self.failures.append(f"{started} #{self.count}: {error!r}")
                # Every 20 ms; after a slow answer, the next at once (no burst to catch up).
                next_at = max(next_at + INTERVAL_SECONDS, time.monotonic())
                self._stop.wait(next_at - time.monotonic())

    def stop(self) -> None:
        self._stop.set()


@contextmanager
def in_background(name: str, work: Callable[[], None], stop: Callable[[], None]) -> Iterator[None]:
    """``work`` in a thread for the block's duration, then ``stop`` and wait for its end."""
    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), f"{name}: its last round never ended"


@contextmanager
def probing(root_cert: Path, host: str, port: int) -> Iterator[Probe]:
    """Requests every 20 ms for the block's duration; the probe's results after it."""
    probe = Probe(root_cert=root_cert, host=host, port=port)
    with in_background(f"probe {host}", probe.run, probe.stop):
        yield probe
