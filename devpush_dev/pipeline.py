"""The local run's helper processes, started together and stopped together.

``python -m devpush_dev.pipeline --state DIR --log-store victorialogs|loki`` starts the
worker's Docker socket proxy, the route resolver, Caddy and a log store with its
collector, then writes the settings the app and the worker need to ``DIR/pipeline.env``
(KEY=VALUE lines) and waits for SIGTERM or SIGINT; it stops its children in reverse
order. scripts/dev/local.sh runs it (after the migrations: the resolver reads the
database).
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Protocol

from devpush.core.config import LOG_STORES, get_settings
from devpush_dev import alloy, caddy, loki, otelcol, resolver, socket_proxy, victorialogs
from devpush_dev.binaries import BinaryNotFoundError

#: What the local run reads back: the file appears, complete, once everything answers.
PIPELINE_ENV = "pipeline.env"


class Stoppable(Protocol):
    def stop(self) -> object: ...


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Pipeline:
    """The children started so far, and the settings that point the app at them."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.children: list[Stoppable] = []
        self.settings: list[str] = []
        self.engine_socket = socket_proxy.socket_path_from_docker_host(get_settings().docker_host)

    def door(self, env_file: Path) -> socket_proxy.SocketProxy:
        proxy = socket_proxy.start_socket_proxy(
            env_file=env_file,
            port=free_port(),
            state_dir=self.state / "proxy",
            socket_path=self.engine_socket,
        )
        self.children.append(proxy)
        return proxy

    def start_proxies(self) -> None:
        worker_door = self.door(socket_proxy.WORKER_DOOR)
        settings = get_settings()
        not_found_port = free_port()
        # Two route resolvers, as in Compose: Caddy asks either, so one may stop.
        route_resolvers = [
            resolver.start_resolver(
                database_url=settings.database_url,
                address=f"127.0.0.1:{free_port()}",
                not_found_port=not_found_port,
                state_dir=self.state,
                log_name=log_name,
            )
            for log_name in ("resolver.log", "resolver-2.log")
        ]
        self.children += route_resolvers
        proxy_settings = settings.model_copy(
            update={
                "proxy_admin_url": f"http://127.0.0.1:{free_port()}",
                "proxy_resolver_addr": ",".join(r.address for r in route_resolvers),
                "proxy_not_found_port": not_found_port,
            }
        )
        self.children.append(
            caddy.start_caddy(settings=proxy_settings, state_dir=self.state / "caddy")
        )
        self.settings += [
            f"DEVPUSH_DOCKER_HOST={worker_door.url}",
            f"DEVPUSH_PROXY_ADMIN_URL={proxy_settings.proxy_admin_url}",
            f"DEVPUSH_PROXY_RESOLVER_ADDR={proxy_settings.proxy_resolver_addr}",
            f"DEVPUSH_PROXY_NOT_FOUND_PORT={not_found_port}",
        ]

    def start_victorialogs(self) -> None:
        store = victorialogs.start_victorialogs(
            data_dir=self.state / "victorialogs", http_port=free_port()
        )
        self.children.append(store.child)
        collector = otelcol.start_collector(
            state_dir=self.state / "otelcol",
            containers_dir=otelcol.engine_containers_dir(),
            victorialogs_url=store.url,
            metrics_port=free_port(),
            health_port=free_port(),
        )
        self.children.append(collector.child)
        self.settings += [
            "DEVPUSH_LOG_STORE=victorialogs",
            f"DEVPUSH_LOG_STORE_URL={store.url}",
            # The log views warn when the collector's queue is full (devpush/services/collector.py).
            f"DEVPUSH_LOG_COLLECTOR_METRICS_URL={collector.metrics_url}",
        ]
        print(f"Logs: the collector ships runner logs to VictoriaLogs at {store.url}", flush=True)

    def start_loki(self) -> None:
        grafana_loki = loki.start_loki(
            data_dir=self.state / "loki", http_port=free_port(), grpc_port=free_port()
        )
        self.children.append(grafana_loki.child)
        alloy_door = self.door(socket_proxy.ALLOY_DOOR)
        started = alloy.start_alloy(
            state_dir=self.state / "alloy",
            http_port=free_port(),
            docker_host=alloy_door.url,
            loki_push_url=grafana_loki.push_url,
        )
        self.children.append(started.child)
        self.settings += ["DEVPUSH_LOG_STORE=loki", f"DEVPUSH_LOG_STORE_URL={grafana_loki.url}"]
        print(f"Logs: Alloy ships runner logs to Loki at {grafana_loki.url}", flush=True)

    def publish(self) -> None:
        """Write pipeline.env in one rename: a reader never sees half of it."""
        partial = self.state / f"{PIPELINE_ENV}.tmp"
        partial.write_text("\n".join(self.settings) + "\n")
        partial.rename(self.state / PIPELINE_ENV)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devpush_dev.pipeline", description=__doc__)
    parser.add_argument("--state", type=Path, required=True, help="state and log directory")
    parser.add_argument("--log-store", choices=LOG_STORES, default="victorialogs")
    args = parser.parse_args(argv)

    # A list, not a threading.Event: Event.set() in a handler deadlocks when a second signal
    # (Ctrl-C's SIGINT, then local.sh's SIGTERM) lands while Event.wait() holds its lock.
    signals: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _: signals.append(signum))

    args.state.mkdir(parents=True, exist_ok=True)
    (args.state / PIPELINE_ENV).unlink(missing_ok=True)
    pipeline = Pipeline(args.state)
    try:
        pipeline.start_proxies()
        try:
            if args.log_store == "victorialogs":
                pipeline.start_victorialogs()
            else:
                pipeline.start_loki()
        except BinaryNotFoundError as exc:
            print(f"error: the {args.log_store} log stack is missing: {exc}", file=sys.stderr)
            return 1
        pipeline.publish()
        while not signals:
            time.sleep(0.2)
    finally:
        pipeline.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
