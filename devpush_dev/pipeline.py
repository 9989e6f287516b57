"""The local run's processes, under one supervisord: started in order, restarted, stopped.

``python -m devpush_dev.pipeline --state DIR --log-store victorialogs|loki [--app-port PORT]``
writes ``DIR/supervisord.conf`` from the starters' argv and env (the worker's Docker socket
proxy, the route resolver, Caddy, a log store with its collector, and with ``--app-port``
the deploy worker and the web app), starts supervisord, waits until each part answers (the
same checks as the starters'), then writes the settings the app and the worker need to
``DIR/pipeline.env`` (KEY=VALUE lines). The worker and the app start only then: they need
the store and the proxy. supervisord restarts any part that exits; this process prints a
line per restart, and on SIGTERM or SIGINT stops supervisord, which stops every part.
scripts/dev/local.sh runs it (after the migrations: the resolver reads the database).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

from devpush.core.config import LOG_STORES, get_settings
from devpush.services import proxy_config
from devpush_dev import alloy, caddy, loki, otelcol, resolver, socket_proxy, victorialogs
from devpush_dev.binaries import REPO_ROOT, BinaryNotFoundError
from devpush_dev.ports import free_port
from devpush_dev.processes import ProcessError
from devpush_dev.supervisor import (
    MAIN_LOG,
    Program,
    RestartReporter,
    Supervisord,
    socket_url,
)

#: What the local run reads back: the file appears, complete, once everything answers.
PIPELINE_ENV = "pipeline.env"
#: The parts the local run starts once the others answer.
LATE = ("worker", "app")


def answers_200(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def listens(port: int) -> Callable[[], bool]:
    def check() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    return check


def say(line: str) -> None:
    print(f"==> {line}", flush=True)


class Pipeline:
    """The programs of the run, how to tell each is ready, and the settings for the app."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.programs: list[Program] = []
        self.checks: list[tuple[str, Callable[[], bool], float]] = []
        self.settings: dict[str, str] = {}
        self.engine_socket = socket_proxy.socket_path_from_docker_host(get_settings().docker_host)

    def add(
        self,
        program: Program,
        ready: Callable[[], bool] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.programs.append(program)
        if ready is not None:
            self.checks.append((program.name, ready, timeout))

    def priority(self) -> int:
        # Start order is the order added; supervisord stops in the reverse order.
        return 10 * (len(self.programs) + 1)

    def door(self, env_file: Path) -> str:
        """The socket proxy of ``env_file``'s door; its URL for a Docker client."""
        name = f"socket-proxy-{env_file.stem}"
        port = free_port()
        state_dir = self.state / "proxy"
        state_dir.mkdir(parents=True, exist_ok=True)
        config_path = state_dir / f"{name}.cfg"
        config_path.write_text(
            socket_proxy.render_config(
                flags=socket_proxy.read_flags(env_file), port=port, socket_path=self.engine_socket
            )
        )
        self.add(
            Program(
                name=name,
                argv=[socket_proxy.haproxy_binary(), "-db", "-f", str(config_path)],
                log_path=state_dir / f"{name}.log",
                priority=self.priority(),
            ),
            answers_200(f"http://127.0.0.1:{port}/_ping"),
            15.0,
        )
        return f"tcp://127.0.0.1:{port}"

    def add_proxies(self) -> None:
        worker_door = self.door(socket_proxy.WORKER_DOOR)
        settings = get_settings()
        not_found_port = free_port()
        # Two route resolvers, as in Compose: Caddy asks either, so one may stop.
        addresses = [f"127.0.0.1:{free_port()}" for _ in range(2)]
        for name, address in zip(("resolver", "resolver-2"), addresses, strict=True):
            # The database URL is inherited when set (it may hold a password): the config
            # file never holds it.
            env = {"DEVPUSH_PROXY_NOT_FOUND_PORT": str(not_found_port)}
            if os.environ.get("DEVPUSH_DATABASE_URL") != settings.database_url:
                env["DEVPUSH_DATABASE_URL"] = settings.database_url
            self.add(
                Program(
                    name=name,
                    argv=[sys.executable, "-m", "devpush.resolver", "--listen", address],
                    log_path=self.state / f"{name}.log",
                    priority=self.priority(),
                    env=env,
                    cwd=REPO_ROOT,
                ),
                partial(resolver.answers, address),
                15.0,
            )
        proxy_settings = settings.model_copy(
            update={
                "proxy_admin_url": f"http://127.0.0.1:{free_port()}",
                "proxy_resolver_addr": ",".join(addresses),
                "proxy_not_found_port": not_found_port,
            }
        )
        if proxy_settings.public_scheme != "http":
            raise ProcessError("the local proxy serves plain HTTP: set public_scheme=http")
        caddy_dir = self.state / "caddy"
        caddy_dir.mkdir(parents=True, exist_ok=True)
        config_path = caddy_dir / "caddy.json"
        config_path.write_text(json.dumps(proxy_config.build_config(proxy_settings), indent=2))
        self.add(
            Program(
                name="caddy",
                argv=[caddy.caddy_binary(), "run", "--config", str(config_path)],
                log_path=caddy_dir / "caddy.log",
                priority=self.priority(),
                env={
                    "HOME": str(caddy_dir),
                    "XDG_DATA_HOME": str(caddy_dir / "data"),
                    "XDG_CONFIG_HOME": str(caddy_dir / "config"),
                },
            ),
            answers_200(f"{proxy_settings.proxy_admin_url}/config/"),
            15.0,
        )
        self.settings |= {
            "DEVPUSH_DOCKER_HOST": worker_door,
            "DEVPUSH_PROXY_ADMIN_URL": proxy_settings.proxy_admin_url,
            "DEVPUSH_PROXY_RESOLVER_ADDR": proxy_settings.proxy_resolver_addr,
            "DEVPUSH_PROXY_NOT_FOUND_PORT": str(not_found_port),
        }

    def add_victorialogs(self) -> None:
        store_dir = self.state / "victorialogs"
        store_dir.mkdir(parents=True, exist_ok=True)
        store_url = f"http://127.0.0.1:{free_port()}"
        self.add(
            Program(
                name="victorialogs",
                argv=victorialogs.victorialogs_argv(
                    binary=victorialogs.victorialogs_binary(),
                    data_dir=store_dir / "data",
                    http_port=int(store_url.rsplit(":", 1)[1]),
                    retention="31d",
                ),
                log_path=store_dir / "victoria-logs.log",
                priority=self.priority(),
                cwd=store_dir,
            ),
            answers_200(f"{store_url}/health"),
        )
        # The same state dir on every (re)start: the collector resumes from its checkpoint.
        collector_dir = self.state / "otelcol"
        collector_dir.mkdir(parents=True, exist_ok=True)
        metrics_port, health_port = free_port(), free_port()
        self.add(
            Program(
                name="collector",
                argv=otelcol.collector_argv(binary=otelcol.collector_binary()),
                log_path=collector_dir / "otelcol.log",
                priority=self.priority(),
                env=otelcol.collector_env(
                    state_dir=collector_dir,
                    containers_dir=otelcol.engine_containers_dir(),
                    victorialogs_url=store_url,
                    metrics_port=metrics_port,
                    health_port=health_port,
                ),
                cwd=collector_dir,
            ),
            answers_200(f"http://127.0.0.1:{health_port}/"),
        )
        self.settings |= {
            "DEVPUSH_LOG_STORE": "victorialogs",
            "DEVPUSH_LOG_STORE_URL": store_url,
            # The log views warn when the collector's queue is full (devpush/services/collector.py).
            "DEVPUSH_LOG_COLLECTOR_METRICS_URL": f"http://127.0.0.1:{metrics_port}/metrics",
        }
        print(f"Logs: the collector ships runner logs to VictoriaLogs at {store_url}", flush=True)

    def add_loki(self) -> None:
        loki_dir = self.state / "loki"
        loki_dir.mkdir(parents=True, exist_ok=True)
        http_port = free_port()
        loki_url = f"http://127.0.0.1:{http_port}"
        self.add(
            Program(
                name="loki",
                argv=loki.loki_argv(
                    binary=loki.loki_binary(), http_port=http_port, grpc_port=free_port()
                ),
                log_path=loki_dir / "loki.log",
                priority=self.priority(),
                env={loki.DATA_DIR_ENV: str(loki_dir)},
                cwd=loki_dir,
            ),
            answers_200(f"{loki_url}/ready"),
            90.0,
        )
        alloy_door = self.door(socket_proxy.ALLOY_DOOR)
        alloy_dir = self.state / "alloy"
        alloy_dir.mkdir(parents=True, exist_ok=True)
        alloy_port = free_port()
        self.add(
            Program(
                name="alloy",
                argv=alloy.alloy_argv(
                    binary=alloy.alloy_binary(), state_dir=alloy_dir, http_port=alloy_port
                ),
                log_path=alloy_dir / "alloy.log",
                priority=self.priority(),
                env=alloy.alloy_env(
                    docker_host=alloy_door, loki_push_url=f"{loki_url}/loki/api/v1/push"
                ),
                cwd=alloy_dir,
            ),
            answers_200(f"http://127.0.0.1:{alloy_port}/-/ready"),
        )
        self.settings |= {"DEVPUSH_LOG_STORE": "loki", "DEVPUSH_LOG_STORE_URL": loki_url}
        print(f"Logs: Alloy ships runner logs to Loki at {loki_url}", flush=True)

    def add_app(self, port: int) -> None:
        """The deploy worker and the web app, started by :meth:`start_app` once all answers."""
        uvicorn_flags = ["--host", "127.0.0.1", "--port", str(port)]
        for name, argv in (
            ("worker", [sys.executable, "-m", "devpush.workers"]),
            (
                "app",
                [sys.executable, "-m", "uvicorn", "devpush.main:app", *uvicorn_flags],
            ),
        ):
            self.add(
                Program(
                    name=name,
                    argv=argv,
                    log_path=self.state / f"{name}.log",
                    priority=self.priority(),
                    env=self.settings,
                    cwd=REPO_ROOT,
                    autostart=False,
                )
            )

    def start_app(self, supervisord: Supervisord) -> None:
        # Routes of deployments still running from an earlier run (the worker keeps them current).
        with (self.state / "worker.log").open("ab") as log:
            done = subprocess.run(
                [sys.executable, "-m", "devpush.workers.tasks.routes"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.settings},
                cwd=REPO_ROOT,
                check=False,
            )
        if done.returncode != 0:
            print(
                "error: could not write the routes or give Caddy its config yet "
                f"(see {self.state / 'worker.log'})",
                file=sys.stderr,
                flush=True,
            )
        for name in LATE:
            supervisord.start(name)

    def publish(self) -> None:
        """Write pipeline.env in one rename: a reader never sees half of it."""
        partial = self.state / f"{PIPELINE_ENV}.tmp"
        partial.write_text("".join(f"{key}={value}\n" for key, value in self.settings.items()))
        partial.rename(self.state / PIPELINE_ENV)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devpush_dev.pipeline", description=__doc__)
    parser.add_argument("--state", type=Path, required=True, help="state and log directory")
    parser.add_argument("--log-store", choices=LOG_STORES, default="victorialogs")
    parser.add_argument("--app-port", type=int, help="also run the worker and the web app")
    args = parser.parse_args(argv)
    state: Path = args.state.resolve()

    # A list, not a threading.Event: Event.set() in a handler deadlocks when a second signal
    # (Ctrl-C's SIGINT, then local.sh's SIGTERM) lands while Event.wait() holds its lock.
    signals: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _: signals.append(signum))

    state.mkdir(parents=True, exist_ok=True)
    (state / PIPELINE_ENV).unlink(missing_ok=True)
    pipeline = Pipeline(state)
    try:
        pipeline.add_proxies()
        if args.log_store == "victorialogs":
            pipeline.add_victorialogs()
        else:
            pipeline.add_loki()
    except BinaryNotFoundError as exc:
        print(f"error: the {args.log_store} log stack is missing: {exc}", file=sys.stderr)
        return 1
    pipeline.settings["DEVPUSH_LOCAL_SUPERVISOR_URL"] = socket_url(state)
    if args.app_port is not None:
        pipeline.add_app(args.app_port)

    supervisord = Supervisord(state, pipeline.programs)
    reporter = RestartReporter(state / MAIN_LOG, say)
    try:
        for name, ready, timeout in pipeline.checks:
            supervisord.wait_ready(name, ready, timeout=timeout)
            if signals:
                return 0
        reporter.start()
        pipeline.publish()
        if args.app_port is not None:
            pipeline.start_app(supervisord)
        while not signals:
            if not supervisord.running():
                print("error: supervisord exited; the local run stops", file=sys.stderr)
                return 1
            time.sleep(0.2)
    except ProcessError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        reporter.stopped.set()
        supervisord.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
