"""The metrics sampler's own cost: CPU per round, and per 100 runners, on the real engine.

Starts ``--runners`` idle stand-in runners (busybox ``sleep``, a runner's labels and log
options), and a running deployment row for each in a temporary SQLite database, then
runs the worker's sampler (``devpush/services/metrics_sampler.py``: the same class, pool
and Docker client) through the worker's socket-proxy door (``--direct``: on the engine's
socket) for ``--rounds`` rounds at each step of ``--steps`` runners. For each round it
records:

- the round's wall time;
- the sampler's CPU time (this process: the pool's stats calls, the parsing, the
  database writes and the retention's delete);
- the engine's CPU time for it: dockerd, containerd and the sampled runners' shims
  (``containerd-shim-runc-v2 -id <runner>``), minus what they used during an idle pause
  as long as the round (other work on a shared engine), and the socket proxy's (haproxy).

    uv run python -m benchmarks.metrics_sampler                  # 100 runners, steps 25/50/100
    uv run python -m benchmarks.metrics_sampler --runners 20 --steps 10,20 --rounds 3

Results: ``benchmarks/results/metrics-sampler-<door>.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import update

from benchmarks._harness import RESULTS, bench_project, chart, cpu_seconds, save, table
from devpush.core.config import Settings
from devpush.core.db import create_db_engine, session_factory
from devpush.core.labels import runner_labels
from devpush.core.migrate import upgrade_to_head
from devpush.models import Deployment, DeploymentStatus, Environment, EnvironmentKind
from devpush.services.metrics_sampler import POOL_SIZE, MetricsSampler, sampler_client
from devpush.services.runner import docker_client, runner_log_config
from devpush_dev.ports import free_port
from devpush_dev.runners import BUSYBOX_IMAGE, Runners
from devpush_dev.socket_proxy import WORKER_DOOR, start_socket_proxy


def processes() -> Iterator[tuple[int, list[str]]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
            yield int(entry.name), [part.decode(errors="replace") for part in argv if part]


def engine_pids(container_ids: set[str]) -> list[int]:
    """dockerd, containerd, and the shims of ``container_ids``."""
    found = []
    for pid, argv in processes():
        name = Path(argv[0]).name if argv else ""
        if name in {"dockerd", "containerd"}:
            found.append(pid)
        elif name.startswith("containerd-shim") and "-id" in argv[:-1]:
            found += [pid] if argv[argv.index("-id") + 1] in container_ids else []
    return found


def total_cpu(pids: Sequence[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def make_rows(settings: Settings, container_ids: Sequence[str]) -> list[str]:
    """A project with one deployment per runner, all ``building`` (not sampled yet)."""
    sessions = session_factory(create_db_engine(settings.database_url))
    with sessions() as session:
        project = bench_project(
            "Bench",
            "bench",
            repo_url="/srv/bench",
            runner_image=BUSYBOX_IMAGE,
            start_command="sleep 3600",
        )
        environment = Environment(
            project=project, name="production", kind=EnvironmentKind.PRODUCTION, branch="main"
        )
        rows = [
            Deployment(
                project=project,
                environment=environment,
                branch="main",
                status=DeploymentStatus.BUILDING,
                container_id=container_id,
            )
            for container_id in container_ids
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def set_running(settings: Settings, deployment_ids: Sequence[str]) -> None:
    sessions = session_factory(create_db_engine(settings.database_url))
    with sessions() as session:
        session.execute(
            update(Deployment)
            .where(Deployment.id.in_(deployment_ids))
            .values(status=DeploymentStatus.RUNNING)
        )
        session.commit()


def measure_step(
    sampler: MetricsSampler,
    *,
    runners: int,
    rounds: int,
    engine: list[int],
    proxy_pid: int | None,
    pause: float,
) -> dict[str, Any]:
    """``rounds`` rounds (after one unmeasured: the first has no CPU readings to compare)."""
    sampler.tick()
    walls, own, engine_used, engine_idle, proxy_used = [], [], [], [], []
    for _ in range(rounds):
        time.sleep(pause)
        engine_before, proxy_before = total_cpu(engine), cpu_seconds(proxy_pid or -1)
        cpu_before, wall_before = time.process_time(), time.monotonic()
        result = sampler.tick()
        wall = time.monotonic() - wall_before
        own.append(time.process_time() - cpu_before)
        engine_used.append(total_cpu(engine) - engine_before)
        proxy_used.append(cpu_seconds(proxy_pid or -1) - proxy_before)
        walls.append(wall)
        assert result.stored == runners, result  # every runner answered
        # The engine's background: an idle pause as long as the round.
        idle_before = total_cpu(engine)
        time.sleep(wall)
        engine_idle.append(total_cpu(engine) - idle_before)
    sampler_cpu = statistics.median(own)
    engine_cpu = max(0.0, statistics.median(engine_used) - statistics.median(engine_idle))
    proxy_cpu = statistics.median(proxy_used)
    all_cpu = sampler_cpu + engine_cpu + proxy_cpu
    return {
        "runners": runners,
        "rounds": rounds,
        "round_wall_s": statistics.median(walls),
        "round_wall_max_s": max(walls),
        "sampler_cpu_ms": sampler_cpu * 1000,
        "engine_cpu_ms": engine_cpu * 1000,
        "engine_idle_cpu_ms": statistics.median(engine_idle) * 1000,
        "proxy_cpu_ms": proxy_cpu * 1000,
        "all_cpu_ms_per_100": all_cpu * 1000 * 100 / runners,
        "sampler_cpu_ms_per_100": sampler_cpu * 1000 * 100 / runners,
        # At the default 15 s interval: the share of one core the sampling costs.
        "core_share_at_15s_pct": all_cpu / 15 * 100,
        "load_average": os.getloadavg()[0],
    }


def plot(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    with chart(path, figsize=(7, 4)) as ax:
        labels = [str(row["runners"]) for row in rows]
        bottom = [0.0] * len(rows)
        for key, name in (
            ("sampler_cpu_ms", "sampler (worker process)"),
            ("engine_cpu_ms", "engine (dockerd, containerd, shims)"),
            ("proxy_cpu_ms", "socket proxy"),
        ):
            values = [row[key] for row in rows]
            ax.bar(labels, values, bottom=bottom, label=name)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xlabel("running runners sampled")
        ax.set_ylabel("CPU per round (ms)")
        ax.set_title(title)
        ax.legend()


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--runners", type=int, default=100)
    p.add_argument("--steps", default="25,50,100", help="runners sampled per step")
    p.add_argument("--rounds", type=int, default=10, help="measured rounds per step")
    p.add_argument("--pause", type=float, default=1.0, help="seconds between rounds")
    p.add_argument("--direct", action="store_true", help="the engine's socket, no proxy door")
    args = p.parse_args()
    steps = [int(step) for step in args.steps.split(",")]
    assert max(steps) <= args.runners, "a step samples at most --runners runners"
    door = "direct" if args.direct else "proxy"
    client = docker_client(Settings())
    with ExitStack() as exits:
        root = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="devpush-metrics-")))
        runners = Runners(client)
        exits.callback(runners.remove_all)
        project_id = f"bench-{uuid.uuid4().hex[:8]}"
        started = time.monotonic()
        containers = []
        for n in range(args.runners):
            labels = runner_labels(
                project_id=project_id,
                environment_id="env-bench",
                branch="main",
                deployment_id=f"dep-{n}",
            )
            log_config = runner_log_config(max_size="1m", max_file=1)
            containers.append(
                runners.run(["sleep", "3600"], labels=labels, log_config=log_config, wait=None)
            )
        print(f"{args.runners} runners started in {time.monotonic() - started:.0f} s", flush=True)
        settings = Settings(database_url=f"sqlite:///{root / 'devpush.sqlite3'}")
        upgrade_to_head(settings.database_url)
        deployment_ids = make_rows(settings, [c.id for c in containers])
        proxy_pid = None
        sampled_client = sampler_client(Settings())
        if not args.direct:
            proxy = start_socket_proxy(
                env_file=WORKER_DOOR,
                port=free_port(),
                state_dir=root / "proxy",
                socket_path=Settings().docker_host.removeprefix("unix://"),
            )
            exits.callback(proxy.stop)
            proxy_pid = proxy.child.pid
            sampled_client = sampler_client(Settings(docker_host=proxy.url))
        sampler = MetricsSampler(
            settings=settings,
            sessions=session_factory(create_db_engine(settings.database_url)),
            client=sampled_client,
        )
        exits.callback(sampler.close)
        rows = []
        for step in steps:
            set_running(settings, deployment_ids[:step])
            engine = engine_pids({c.id for c in containers[:step]})
            rows.append(
                measure_step(
                    sampler,
                    runners=step,
                    rounds=args.rounds,
                    engine=engine,
                    proxy_pid=proxy_pid,
                    pause=args.pause,
                )
            )
            print(table(rows[-1:], list(rows[0])), flush=True)
    print(table(rows, list(rows[0])))
    saved = save("metrics-sampler", door, rows, one_shot=sampler.one_shot, pool=POOL_SIZE)
    title = f"Metrics sampler: CPU per round ({door}, one-shot stats)"
    plot(rows, RESULTS / f"metrics-sampler-{door}.png", title)
    print(f"saved {saved}")


if __name__ == "__main__":
    main()
