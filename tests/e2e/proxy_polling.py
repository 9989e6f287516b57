"""Requests through the test's Caddy, by host name: one, or many in a loop while a deployment
changes (the routing, rollback and health e2e tests count their answers and failures)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from devpush.services import hosts
from devpush_dev.caddy import Caddy
from tests.e2e.support import Stack


def through_proxy(caddy: Caddy, host: str, *, client: httpx.Client | None = None) -> httpx.Response:
    """GET / of ``host`` through Caddy: to its loopback port, with the name in Host."""
    url = f"{caddy.http_url}/"
    if client is not None:
        return client.get(url, headers={"Host": host})
    return httpx.get(url, headers={"Host": host}, timeout=30)


def host_of(url: str) -> str:
    return httpx.URL(url).host


class Poller(threading.Thread):
    """Requests one URL through the proxy in a loop, counting answers by body or failure."""

    def __init__(self, caddy: Caddy, host: str, *, keep_alive: bool, every: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.caddy, self.host, self.keep_alive = caddy, host, keep_alive
        self.every = every  # seconds between the starts of two requests (0: back to back)
        self.answers: Counter[str] = Counter()
        self.failures: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        # Without keep-alive: a fresh connection per request, as a stream of visitors
        # makes (a Caddy config reload reset a few of those; routes need no reload now).
        limits = httpx.Limits(max_keepalive_connections=10 if self.keep_alive else 0)
        # Caddy may hold a request while it retries (proxy_config.RETRY_SECONDS).
        with httpx.Client(timeout=30, limits=limits) as client:
            next_at = time.monotonic()
            while not self.done.is_set():
                next_at += self.every
                self.done.wait(max(0.0, next_at - time.monotonic()))
                try:
                    response = through_proxy(self.caddy, self.host, client=client)
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if response.status_code == 200:
                    self.answers[response.text] += 1
                else:
                    self.failures.append(f"{response.status_code}: {response.text[:100]}")

    @property
    def total(self) -> int:
        return sum(self.answers.values()) + len(self.failures)


def poll_more(pollers: list[Poller], count: int, *, within: float = 30) -> None:
    """Waits until each poller has made ``count`` more requests (none may stall)."""
    wanted = [poller.total + count for poller in pollers]
    deadline = time.monotonic() + within
    while any(p.total < n for p, n in zip(pollers, wanted, strict=True)):
        counts = [(p.total, n) for p, n in zip(pollers, wanted, strict=True)]
        assert time.monotonic() < deadline, f"the clients stalled (done, wanted): {counts}"
        time.sleep(0.05)


def env_host(stack: Stack, deployment_id: str) -> str:
    """The host name of the deployment's environment URL."""
    with stack.sessions() as session:
        environment = stack.load(session, deployment_id).environment
        return host_of(hosts.environment_url(environment, stack.settings) or "")
