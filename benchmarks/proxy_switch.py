"""Proxy switches: how many requests fail while a URL moves between two runners.

A redeploy moves the environment's URL to the new runner. Two ways to move it:

- ``reload``: load a new Caddy config with the route in it (POST /load), as devpush
  did before the route resolver. Caddy swaps configs gracefully for requests it has
  accepted, but resets or closes a few connections that arrive in that instant;
- ``resolver``: write the route into the proxy table, which Caddy reads through the
  route resolver by DNS (devpush/services/proxy_table.py, devpush/resolver/): Caddy's config never
  changes. This is what the worker does.

And a third run, ``outage``, where the route source fails: with ``--names`` live names
(500 by default, more than the 100 Caddy's SRV cache holds) and no switch, one of the two
resolvers is SIGKILLed, restarted, then both are SIGKILLed for ``--both-down`` seconds
and restarted, ``--phase`` seconds apart.

The setup: two upstreams (Python's http.server) on loopback, and ``--names`` names
(``a.localhost`` alone by default for the switches); ``--clients`` threads request a
random one in a loop, each on a fresh connection (as a stream of visitors does); the
URLs move ``--switches`` times, ``--interval`` apart, alternating the upstream; and a
quiet run with no switch as the baseline.

Rows: per run (per phase for ``outage``), the requests sent, those dropped (reset or
closed before an answer), those answered with anything but 200, drops per 100 switches,
and the answers' p50, p99 and longest times (by when each request started).

    uv run python -m benchmarks.proxy_switch                      # both ways, 200 switches
    uv run python -m benchmarks.proxy_switch --mode outage        # resolvers killed, 500 names
    uv run python -m benchmarks.proxy_switch --mode reload --caddy /usr/bin/caddy

Runs the pinned Caddy (scripts/dev/go-tool.sh caddy) unless ``--caddy`` names another
(the resolver modes need 2.8 or newer: ``grace_period``). Results:
``benchmarks/results/proxy-switch-<mode>-caddy-<version>.json`` and ``.png``.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from huey import MemoryHuey

from benchmarks._harness import bench_project, chart, parser, save, table
from devpush.core.config import Settings
from devpush.core.db import create_db_engine, session_factory
from devpush.core.migrate import upgrade_to_head
from devpush.services import proxy_config, proxy_table
from devpush.services.deployments import create_deployment
from devpush.services.environments import ensure_production_environment
from devpush.workers.queue import DeployQueue
from devpush_dev.binaries import read_versions
from devpush_dev.caddy import BINARY_ENV, caddy_binary, loopback_settings, start_caddy
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import Resolver, start_resolver

HOST = "a.localhost"
MODES = ("reload", "resolver", "outage")


def names(count: int) -> list[str]:
    """``a.localhost``, then ``a1.localhost``, ``a2.localhost``, ... (``count`` in all)."""
    return [HOST, *(f"a{i}.localhost" for i in range(1, count))]


class Clients:
    """``count`` threads requesting random ``hosts`` through the proxy, each request a new
    connection; every answer is kept with its start (since ``run``) and its duration."""

    def __init__(self, url: str, count: int, hosts: list[str]) -> None:
        self.url = url
        self.count = count
        self.hosts = hosts
        self.outcomes: list[tuple[float, float, str]] = []
        self.done = threading.Event()
        self.started = 0.0
        self._lock = threading.Lock()

    def _run(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=15, limits=limits) as client:
            while not self.done.is_set():
                start = time.monotonic()
                try:
                    host = random.choice(self.hosts)  # noqa: S311 (not a secret)
                    response = client.get(self.url, headers={"Host": host})
                except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                    outcome = "dropped"
                except httpx.HTTPError:
                    outcome = "failed"
                else:
                    outcome = "ok" if response.status_code == 200 else "wrong"
                end = time.monotonic()
                with self._lock:
                    self.outcomes.append((start - self.started, end - start, outcome))

    def run(
        self, seconds: float, during: Callable[[], None] | None = None
    ) -> list[tuple[float, float, str]]:
        """Request for ``seconds`` while ``during`` runs; (start, duration, outcome) each."""
        self.outcomes = []
        self.done.clear()
        self.started = time.monotonic()
        threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.count)]
        for thread in threads:
            thread.start()
        if during is not None:
            during()
        time.sleep(max(0.0, seconds - (time.monotonic() - self.started)))
        self.done.set()
        for thread in threads:
            thread.join(timeout=20)
        return list(self.outcomes)


def row(
    mode: str, run: str, outcomes: list[tuple[float, float, str]], **extra: Any
) -> dict[str, Any]:
    """One row of figures for ``outcomes`` (see Clients.run)."""
    counts = Counter(outcome for _, _, outcome in outcomes)
    seconds = extra.pop("seconds")
    switches = extra.pop("switches", 0)
    sent = len(outcomes)
    times = sorted(duration for _, duration, _ in outcomes) or [0.0]
    return {
        "mode": mode,
        "run": run,
        "switches": switches,
        "seconds": seconds,
        "requests": sent,
        "per_s": sent / seconds,
        "dropped": counts["dropped"],
        "wrong_or_failed": counts["wrong"] + counts["failed"],
        "dropped_per_100_switches": 100 * counts["dropped"] / switches if switches else 0.0,
        "dropped_share": counts["dropped"] / max(sent, 1),
        "p50_ms": 1000 * statistics.median(times),
        "p99_ms": 1000 * times[min(len(times) - 1, int(0.99 * len(times)))],
        "max_ms": 1000 * times[-1],
        **extra,
    }


def reload_switcher(settings: Settings, upstreams: list[int]) -> Callable[[int], None]:
    """Each switch loads a config whose one route dials the next upstream."""

    def switch(index: int) -> None:
        config = proxy_config.initial_config(settings)
        server = config["apps"]["http"]["servers"][proxy_config.SERVER]
        route = {
            "match": [{"host": [HOST]}],
            "handle": [
                {
                    "handler": "reverse_proxy",
                    "upstreams": [{"dial": f"127.0.0.1:{upstreams[index % 2]}"}],
                }
            ],
            "terminal": True,
        }
        server["routes"].insert(0, route)
        proxy_config.load_config(config, settings)

    return switch


@dataclass
class RouteSource:
    """The proxy table, the resolvers Caddy asks, and how to move the URLs."""

    switch: Callable[[int], None]
    resolvers: list[Resolver]
    restart: Callable[[int], None]


def route_source(
    settings: Settings, upstreams: list[int], hosts: list[str], root: Path, exits: ExitStack
) -> RouteSource:
    """Each switch writes the proxy table (every host to the next upstream); Caddy keeps
    the config it started with and asks its two resolvers."""
    url = f"sqlite:///{root / 'devpush.sqlite3'}"
    upgrade_to_head(url)
    sessions = session_factory(create_db_engine(url))
    with sessions() as session:
        project = bench_project(
            "A",
            "a",
            repo_url=str(root),
            default_branch="main",
            runner_image="none",
            start_command="none",
            port=upstreams[0],
        )
        session.add(project)
        ensure_production_environment(session, project=project)
        queue = DeployQueue(MemoryHuey(immediate=False))
        deployments = [
            create_deployment(
                session, project=project, branch=None, created_by=None, queue=queue
            ).id
            for _ in upstreams
        ]
        session.commit()
    resolvers: list[Resolver] = []

    def restart(index: int) -> None:
        """Start resolver ``index`` (again) at its address."""
        resolver = start_resolver(
            database_url=url,
            address=settings.proxy_resolver_addrs[index],
            not_found_port=settings.proxy_not_found_port,
            state_dir=root,
            log_name=f"resolver-{index}.log",
        )
        if index < len(resolvers):
            resolvers[index] = resolver
        else:
            resolvers.append(resolver)

    for index in range(len(settings.proxy_resolver_addrs)):
        restart(index)
    exits.callback(lambda: [r.stop() for r in resolvers])

    def switch(index: int) -> None:
        n = index % 2
        with sessions() as session:
            proxy_table.write_table(
                session,
                [
                    proxy_table.HostEntry(host, deployments[n], "127.0.0.1", upstreams[n])
                    for host in hosts
                ],
            )
            session.commit()

    return RouteSource(switch, resolvers, restart)


def outage(source: RouteSource, phase: float, both_down: float) -> list[tuple[str, float]]:
    """Kill and restart the resolvers on a schedule; each phase's name and start, and "end"."""
    started = time.monotonic()
    phases: list[tuple[str, float]] = [("both up", 0.0)]

    def mark(name: str) -> None:
        phases.append((name, time.monotonic() - started))

    time.sleep(phase)
    source.resolvers[0].child.kill()  # SIGKILL: no goodbye
    mark("one killed")
    time.sleep(phase)
    mark("one starting")
    source.restart(0)
    mark("one back")
    time.sleep(phase)
    for resolver in source.resolvers:
        resolver.child.kill()
    mark(f"both killed ({both_down:g} s)")
    time.sleep(both_down)
    mark("both starting")
    for index in range(len(source.resolvers)):
        source.restart(index)
    mark("both back")
    time.sleep(phase)
    mark("end")
    return phases


def measure(mode: str, args: Any) -> tuple[list[dict[str, Any]], str, list[Any], list[Any]]:
    """The rows, the Caddy version, and (outage) the answers and the phases' starts."""
    with ExitStack() as exits:
        root = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="proxy-switch-")))
        upstreams = [free_port(), free_port()]
        for port in upstreams:
            server = subprocess.Popen(
                [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            exits.callback(server.wait)
            exits.callback(server.terminate)
        settings = loopback_settings()
        hosts = names(args.names if mode == "outage" else args.switch_names)
        source = None if mode == "reload" else route_source(settings, upstreams, hosts, root, exits)
        switch = reload_switcher(settings, upstreams) if source is None else source.switch
        caddy = start_caddy(settings=settings, state_dir=root / "caddy")
        exits.callback(caddy.stop)
        version = subprocess.run(
            [caddy_binary(), "version"], capture_output=True, text=True
        ).stdout.strip()

        def switches() -> None:
            for index in range(args.switches):
                switch(index)
                time.sleep(args.interval)

        switch(0)
        time.sleep(0.5)  # the first route is in place before anyone asks
        url = f"http://127.0.0.1:{settings.public_port}/"
        clients = Clients(url, args.clients, hosts)
        rows: list[dict[str, Any]] = []
        if source is not None and mode == "outage":
            phases: list[tuple[str, float]] = []
            outcomes = clients.run(
                0, lambda: phases.extend(outage(source, args.phase, args.both_down))
            )
            phases, ends = phases[:-1], [start for _, start in phases[1:]]
            for (name, start), end in zip(phases, ends, strict=True):
                rows.append(
                    row(
                        mode,
                        name,
                        [o for o in outcomes if start <= o[0] < end],
                        seconds=end - start,
                        names=len(hosts),
                    )
                )
            return rows, version.split()[0], outcomes, phases
        seconds = args.switches * args.interval
        for name, during in (("quiet", None), ("switching", switches)):
            outcomes = clients.run(seconds, during)
            rows.append(
                row(
                    mode,
                    name,
                    outcomes,
                    seconds=seconds,
                    switches=args.switches if during else 0,
                    names=len(hosts),
                )
            )
    return rows, version.split()[0], [], []


def plot_switches(rows: list[dict[str, Any]], label: str, mode: str, args: Any, path: Path) -> None:
    with chart(path.with_suffix(".png"), figsize=(6, 3.5), dpi=100) as ax:
        ax.bar([r["run"] for r in rows], [r["dropped"] for r in rows], color=["#888", "#c44"])
        ax.set_ylabel("requests dropped")
        ax.set_title(
            f"Caddy {label}, {mode}: {rows[1]['dropped']} of {rows[1]['requests']} "
            f"requests dropped over {args.switches} switches",
            fontsize=9,
        )


def plot_outage(
    outcomes: list[tuple[float, float, str]],
    phases: list[tuple[str, float]],
    label: str,
    names_count: int,
    path: Path,
) -> None:
    """Answers per half second (ok, failed) and their slowest time, with the phases marked."""
    width = 0.5
    end = max((start for start, _, _ in outcomes), default=0.0)
    bins = [i * width for i in range(int(end / width) + 1)]
    ok = Counter(int(start / width) for start, _, outcome in outcomes if outcome == "ok")
    bad = Counter(int(start / width) for start, _, outcome in outcomes if outcome != "ok")
    slowest: dict[int, float] = {}
    for start, duration, _ in outcomes:
        key = int(start / width)
        slowest[key] = max(slowest.get(key, 0.0), 1000 * duration)
    png = path.with_suffix(".png")
    with chart(png, 2, 1, figsize=(8, 5), sharex=True, dpi=100) as (count_ax, time_ax):
        count_ax.bar(bins, [ok[i] / width for i in range(len(bins))], width=width, color="#4a4")
        count_ax.bar(
            bins,
            [bad[i] / width for i in range(len(bins))],
            width=width,
            bottom=[ok[i] / width for i in range(len(bins))],
            color="#c44",
        )
        count_ax.set_ylabel("answers/s (red: failed)")
        time_ax.plot(bins, [slowest.get(i, 0.0) for i in range(len(bins))], color="#448")
        time_ax.set_ylabel("slowest answer (ms)")
        time_ax.set_xlabel("seconds")
        for ax in (count_ax, time_ax):
            for _, start in phases:
                ax.axvline(start, color="#888", linestyle=":")
        for name, start in phases:
            count_ax.text(start, count_ax.get_ylim()[1] * 0.95, f" {name}", fontsize=7, va="top")
        failed = sum(1 for _, _, outcome in outcomes if outcome != "ok")
        count_ax.set_title(
            f"Caddy {label}, two resolvers, {names_count} names: "
            f"{failed} of {len(outcomes)} requests failed",
            fontsize=9,
        )


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--mode", choices=(*MODES, "both", "all"), default="both")
    p.add_argument("--switches", type=int, default=200)
    p.add_argument("--interval", type=float, default=0.1, help="seconds between switches")
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--switch-names", type=int, default=1, help="live names while switching")
    p.add_argument("--names", type=int, default=500, help="live names in the outage run")
    p.add_argument("--phase", type=float, default=5.0, help="outage: seconds between events")
    p.add_argument("--both-down", type=float, default=3.0, help="outage: both dead this long")
    p.add_argument("--caddy", help="a caddy binary (default: the pinned build)")
    p.add_argument("--label", help="the Caddy version in the results' name (default: asked)")
    args = p.parse_args()
    if args.caddy:
        os.environ[BINARY_ENV] = str(Path(args.caddy).resolve())
    chosen = {"both": ("reload", "resolver"), "all": MODES}.get(args.mode, (args.mode,))

    for mode in chosen:
        rows, version, outcomes, phases = measure(mode, args)
        # The pinned build (go install) calls itself "unknown": its version is versions.env's.
        label = args.label or (version if args.caddy else read_versions()["CADDY_VERSION"])
        if mode == "outage":
            print(f"Caddy {label}, outage: {args.clients} clients, {args.names} names")
        else:
            print(
                f"Caddy {label}, {mode}: {args.clients} clients, a switch every {args.interval:g} s"
            )
        print(table(rows, list(rows[0])))
        path = save(
            "proxy-switch", f"{mode}-caddy-{label}", rows, caddy=label, clients=args.clients
        )
        if mode == "outage":
            plot_outage(outcomes, phases, label, args.names, path)
        else:
            plot_switches(rows, label, mode, args, path)
        print(f"results: {path}")


if __name__ == "__main__":
    main()
