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
from devpush_dev import caddy, log_stacks, resolver_process, socket_proxy
from devpush_dev.binaries import REPO_ROOT, BinaryNotFoundError
from devpush_dev.ports import free_port
from devpush_dev.processes import ProcessError, ProcessSpec
from devpush_dev.supervisor import (
    MAIN_LOG,
    Program,
    RestartReporter,
    Supervisord,
    socket_url,
)
from devpush_dev.web_app import web_app_argv

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
        port = free_port()
        self.add_process(
            socket_proxy.door_process(
                env_file=env_file,
                port=port,
                state_dir=self.state / "proxy",
                socket_path=self.engine_socket,
            )
        )
        return f"tcp://127.0.0.1:{port}"

    def add_proxies(self) -> None:
        worker_door = self.door(socket_proxy.WORKER_DOOR)
        # The app's read-only door: its live view follows running runners' logs.
        app_door = self.door(socket_proxy.APP_DOOR)
        settings = get_settings()
        not_found_port = free_port()
        redirect_port = free_port()  # Caddy's own redirect server (custom domains)
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
                partial(resolver_process.answers, address),
                15.0,
            )
        proxy_settings = settings.model_copy(
            update={
                "proxy_admin_url": f"http://127.0.0.1:{free_port()}",
                "proxy_resolver_addr": ",".join(addresses),
                "proxy_not_found_port": not_found_port,
                "proxy_redirect_port": redirect_port,
                # The collector of this run reads it (log_stacks.plan with the same root).
                "proxy_access_log": str(log_stacks.proxy_access_log(self.state)),
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
            "DEVPUSH_LOG_FOLLOW_DOCKER_HOST": app_door,
            "DEVPUSH_PROXY_ADMIN_URL": proxy_settings.proxy_admin_url,
            "DEVPUSH_PROXY_RESOLVER_ADDR": proxy_settings.proxy_resolver_addr,
            "DEVPUSH_PROXY_NOT_FOUND_PORT": str(not_found_port),
            "DEVPUSH_PROXY_REDIRECT_PORT": str(redirect_port),
            # The worker loads Caddy's config from its own settings: the same access log.
            "DEVPUSH_PROXY_ACCESS_LOG": proxy_settings.proxy_access_log,
        }

    def add_process(self, spec: ProcessSpec) -> None:
        """``spec`` under supervisord, ready when its ``ready_url`` answers 200."""
        spec.state_dir.mkdir(parents=True, exist_ok=True)
        self.add(
            Program(
                name=spec.name,
                argv=spec.argv,
                log_path=spec.log_path,
                priority=self.priority(),
                env=spec.env,
                cwd=spec.cwd or spec.state_dir,
            ),
            answers_200(spec.ready_url),
            spec.timeout,
        )

    def add_log_stack(self, name: str) -> None:
        """The store ``name`` and its collector (``devpush_dev/log_stacks.py``)."""
        stack = log_stacks.plan(name, self.state, docker_host=get_settings().docker_host)
        for spec in (*stack.support, stack.store, stack.collector):
            self.add_process(spec)
        self.settings |= stack.settings()
        print(f"Logs: {stack.summary}", flush=True)

    def add_app(self, port: int) -> None:
        """The deploy worker and the web app, started by :meth:`start_app` once all answers."""
        for name, argv in (
            ("worker", [sys.executable, "-m", "devpush.workers"]),
            ("app", web_app_argv(port)),
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
                [sys.executable, "-m", "devpush.workers", "--refresh-proxy-table"],
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
        pipeline.add_log_stack(args.log_store)
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
