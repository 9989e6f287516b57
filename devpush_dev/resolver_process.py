"""Run the route resolver (``python -m devpush.resolver``) as a child process on loopback.

The local run and the tests start it beside Caddy, which asks it where each host's
runner is (``devpush.services.proxy_table``); it reads the proxy table from ``database_url``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dnslib import DNSRecord

from devpush_dev import processes

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Resolver(processes.ChildHandle):
    """A running resolver; Caddy asks it at ``address`` (``host:port``, UDP)."""

    address: str


def answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        DNSRecord.question("ready.check.", "SRV").send(host, int(port), timeout=0.5)
    except OSError:  # nobody there yet (refused, or no answer in time)
        return False
    return True


def spawn_resolver(
    *,
    database_url: str,
    address: str,
    not_found_port: int,
    state_dir: Path,
    log_name: str = "resolver.log",
) -> Resolver:
    """Start the resolver on ``address`` (UDP), reading ``database_url``, without waiting:
    :func:`wait_answering` waits (a caller starting several lets their imports overlap).

    ``not_found_port``: where its Caddy's 404 server listens (``proxy_not_found_port``).
    """
    child = processes.start(
        "resolver",
        [sys.executable, "-m", "devpush.resolver", "--listen", address],
        log_path=state_dir / log_name,
        env={
            "DEVPUSH_DATABASE_URL": database_url,
            "DEVPUSH_PROXY_NOT_FOUND_PORT": str(not_found_port),
        },
        cwd=ROOT,
    )
    return Resolver(child=child, address=address)


def wait_answering(resolvers: Sequence[Resolver], *, timeout: float = 15.0) -> None:
    """Wait until each of ``resolvers`` answers; if one does not in time, stop them all."""
    deadline = time.monotonic() + timeout
    for resolver in resolvers:
        while not answers(resolver.address):
            if not resolver.child.running() or time.monotonic() >= deadline:
                processes.stop_all([r.child for r in resolvers])
                raise processes.ProcessError(
                    f"the route resolver did not answer on {resolver.address} (udp) within "
                    f"{timeout:.0f}s; log {resolver.child.log_path}:\n{resolver.child.log_tail()}"
                )
            time.sleep(0.1)


def start_resolver(
    *,
    database_url: str,
    address: str,
    not_found_port: int,
    state_dir: Path,
    log_name: str = "resolver.log",
    timeout: float = 15.0,
) -> Resolver:
    """Start the resolver on ``address`` (UDP), reading ``database_url``; wait until it answers.

    ``not_found_port``: where its Caddy's 404 server listens (``proxy_not_found_port``).
    """
    resolver = spawn_resolver(
        database_url=database_url,
        address=address,
        not_found_port=not_found_port,
        state_dir=state_dir,
        log_name=log_name,
    )
    wait_answering([resolver], timeout=timeout)
    return resolver
