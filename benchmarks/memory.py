"""Memory (RSS) of the collector, the store, the app and the worker: at rest and under load.

Starts the log stack, seeds a temporary SQLite database (a user, a project and one
deployment, as ``benchmarks/queries.py`` does) and runs the real app (``uvicorn
devpush.main:app``) and the real deploy worker (``python -m devpush.workers``) on it and on the
store, as ``scripts/dev/local.sh`` starts them. The worker has no job to do (the seeded
deployment's job went to an in-memory queue): it is measured idle, which is what it is
while runners write, since it is not on the log path.

- At rest: RSS of each process, sampled for ``--rest`` seconds, before any runner.
- Then one live tail is opened through the app (the API's SSE tail of the seeded
  deployment, what the Logs view's live mode reads) and, for each runner count in
  ``--runners`` (1, 100, 500), that many runner containers are started in batches of
  ``--batch``, writing ``--rate`` lines/s in all (rate/N each), with the worker's json-file
  log options; the first runner carries the seeded deployment's labels, so the tail
  follows it. Once all run, RSS (mean and peak) and CPU are sampled for ``--window``
  seconds, and the store is asked how many lines carry a time inside that window (the rate
  actually written). The runners are removed after each count, and on any failure or
  interrupt (and any left by an earlier run of this script: they carry its label).

Prints a table, writes ``results/memory-<backend>.json`` and ``.png``.

    uv run python -m benchmarks.memory [--runners 1,100,500] [--rate 5000] [--window 30]
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import httpx
from huey import MemoryHuey

from benchmarks._harness import (
    Sampler,
    Stack,
    bench_dir,
    chart,
    dockerd_pid,
    parser,
    run_runner,
    save,
    start_stack,
    table,
    writer,
)
from benchmarks.queries import SECRET, bench_settings, seed
from devpush.core.config import Settings
from devpush.workers.queue import DeployQueue
from devpush_dev.ports import free_port
from devpush_dev.processes import Child
from devpush_dev.web_app import start_worker, web_app_process

# Every runner of this script is named so, so that a later run removes any left behind.
NAME_PREFIX = "devpush-bench-memory-"
PROCESSES = ("collector", "store", "app", "worker")


def app_env(settings: Settings) -> dict[str, str]:
    return {
        "DEVPUSH_ENVIRONMENT": "development",
        "DEVPUSH_DATA_DIR": str(settings.data_dir),
        "DEVPUSH_DATABASE_URL": settings.database_url,
        "DEVPUSH_QUEUE_URL": settings.queue_url,
        "DEVPUSH_SECRET_KEY": SECRET,
        "DEVPUSH_LOG_STORE": settings.log_store,
        "DEVPUSH_LOG_STORE_URL": settings.log_store_url,
    }


def start_app_and_worker(
    settings: Settings, root: Path, exits: ExitStack
) -> tuple[str, Child, Child]:
    env = app_env(settings)
    worker = start_worker(log_path=root / "worker.log", env=env)
    exits.callback(worker.stop)
    port = free_port()
    app = web_app_process(state_dir=root, port=port, env=env).start()
    exits.callback(app.stop)
    url = f"http://127.0.0.1:{port}"
    time.sleep(2)
    if not worker.running():
        sys.exit(f"the worker exited: see {worker.log_path}:\n{worker.log_tail()}")
    return url, app, worker


class Tail(threading.Thread):
    """One SSE live tail of a deployment through the app, counting the lines it receives."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.lines = 0
        self.error: str | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        try:
            with httpx.stream(
                "GET", self.url, headers=headers, timeout=httpx.Timeout(10, read=60)
            ) as answer:
                answer.raise_for_status()
                for line in answer.iter_lines():
                    if line == "event: line":
                        self.lines += 1
                    if self.stop.is_set():
                        return
        except httpx.HTTPError as exc:
            self.error = f"{type(exc).__name__}: {exc}"


def remove_runners(client: docker.DockerClient, run_id: str | None = None) -> int:
    """Remove this script's runners (of ``run_id``, or of every run), a few at a time."""
    prefix = NAME_PREFIX + (f"{run_id}-" if run_id else "")
    named = client.containers.list(all=True, filters={"name": prefix})
    left = [c for c in named if c.name.startswith(prefix)]  # the filter matches anywhere
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: c.remove(force=True), left))
    return len(left)


@contextmanager
def runners_removed(client: docker.DockerClient, run_id: str) -> Iterator[None]:
    """Remove this run's runners on the way out, also on SIGTERM (as SystemExit)."""
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        removed = remove_runners(client, run_id)
        print(f"removed {removed} runner container(s)", file=sys.stderr)
        signal.signal(signal.SIGTERM, previous)


def start_runners(
    client: docker.DockerClient,
    labels: dict[str, str],
    run_id: str,
    count: int,
    rate: int,
    seconds: float,
    batch: int,
) -> None:
    per_runner = rate / count
    # Slow writers print once a second: ten batches a second from hundreds of runners
    # would cost more than the lines.
    every = 0.1 if per_runner >= 100 else 1.0
    argv, _ = writer(seconds=seconds, rate=round(per_runner), every=every)

    def one(index: int) -> None:
        ids = (
            labels
            if index == 0
            else {**labels, "deployment_id": f"{labels['deployment_id']}-{index}"}
        )
        run_runner(
            client,
            ids,
            argv,
            name=f"{NAME_PREFIX}{run_id}-{index}",
            network_mode="none",  # lines only: no address needed, and faster to start
        )

    with ThreadPoolExecutor(8) as pool:
        for first in range(0, count, batch):
            list(pool.map(one, range(first, min(count, first + batch))))
            print(f"  {min(count, first + batch)}/{count} runners started", file=sys.stderr)


def stored_between(stack: Stack, project_id: str, t0: float, t1: float) -> int:
    """Lines of the project whose (Docker) time falls in [t0, t1), asked of the store."""

    def rfc(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    query = f'_time:[{rfc(t0)}, {rfc(t1)}) _stream:{{project_id="{project_id}"}} | stats count() n'
    answer = httpx.post(
        f"{stack.store_url}/select/logsql/query", data={"query": query}, timeout=120
    )
    answer.raise_for_status()
    rows = [json.loads(line) for line in answer.text.splitlines() if line.strip()]
    return int(rows[0]["n"]) if rows else 0


def sample(
    pids: dict[str, int], seconds: float
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    sampler = Sampler(pids)
    sampler.start()
    time.sleep(seconds)
    sampler.done.set()
    sampler.join()
    return sampler.mean(), sampler.peak, sampler.cpu_share()


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--runners", default="1,100,500")
    p.add_argument("--rate", type=int, default=5000, help="lines/s of all runners together")
    p.add_argument("--rest", type=float, default=10.0, help="seconds sampled at rest")
    p.add_argument("--window", type=float, default=30.0, help="seconds sampled under load")
    p.add_argument("--settle", type=float, default=10.0, help="seconds after the last start")
    p.add_argument("--batch", type=int, default=50, help="runners started per batch")
    args = p.parse_args()
    if args.log_store != "victorialogs":
        sys.exit("memory.py counts the window's lines with LogsQL: --log-store victorialogs only")
    client = docker.from_env()
    left = remove_runners(client)
    if left:
        print(f"removed {left} runner(s) left by an earlier run", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    with ExitStack() as exits:
        root = bench_dir(exits)
        stack = start_stack(args.log_store, root, exits)
        settings = bench_settings(root, args.log_store, stack.store_url)
        slug, token, labels = seed(settings, DeployQueue(MemoryHuey(immediate=False)))
        url, app, worker = start_app_and_worker(settings, root, exits)
        pids = {
            "collector": stack.collector.pid,
            "store": stack.store.pid,
            "app": app.pid,
            "worker": worker.pid,
        }
        if (dockerd := dockerd_pid()) is not None:
            pids["dockerd"] = dockerd

        mean, peak, cpu = sample(pids, args.rest)
        rows.append(_row("at rest", 0, 0.0, mean, peak, cpu, tail_rate=None))
        print(f"  {rows[-1]}", file=sys.stderr)

        tail = Tail(
            f"{url}/api/v1/projects/{slug}/logs/tail?deployment={labels['deployment_id']}", token
        )
        tail.start()
        exits.callback(tail.stop.set)
        for count in (int(n) for n in args.runners.split(",")):
            run_id = f"{labels['project_id'][:8]}x{count}"
            with runners_removed(client, run_id):
                # Long enough to start them all, settle, and sample; removed right after.
                seconds = count * 1.0 + args.settle + args.window + 60
                began = time.monotonic()
                start_runners(client, labels, run_id, count, args.rate, seconds, args.batch)
                started_s = time.monotonic() - began
                time.sleep(args.settle)
                tail0, t0 = tail.lines, time.time()
                mean, peak, cpu = sample(pids, args.window)
                t1, tail1 = time.time(), tail.lines
                time.sleep(5)  # the collector's poll and batch, the store's ingestion
                httpx.get(f"{stack.store_url}/internal/force_flush", timeout=60)
                rate = stored_between(stack, labels["project_id"], t0, t1) / (t1 - t0)
            tail_rate = (tail1 - tail0) / (t1 - t0)
            row = _row(f"{count} runner(s)", count, rate, mean, peak, cpu, tail_rate=tail_rate)
            row["start_s"] = round(started_s, 1)
            rows.append(row)
            print(f"  {row}", file=sys.stderr)
        if tail.error:
            print(f"the live tail failed: {tail.error}", file=sys.stderr)
    columns = (
        ["case", "lines_per_s"]
        + [f"{n}_rss_mib" for n in PROCESSES]
        + ["dockerd_rss_mib", "tail_lines_per_s", "machine_cpu"]
    )
    print(table(rows, columns))
    path = save(
        "memory",
        args.log_store,
        rows,
        rate=args.rate,
        window_s=args.window,
        tail_error=tail.error,
        note=(
            "RSS means over the window (peaks beside them); the app serves one SSE live tail "
            "of the first runner during the loaded cases; the worker is idle (no job)"
        ),
    )
    plot(rows, args.log_store, args.rate, path.with_suffix(".png"))
    print(f"wrote {path}")
    return 0


def _row(
    case: str,
    runners: int,
    rate: float,
    mean: dict[str, float],
    peak: dict[str, float],
    cpu: dict[str, float],
    *,
    tail_rate: float | None,
) -> dict[str, Any]:
    row: dict[str, Any] = {"case": case, "runners": runners, "lines_per_s": round(rate)}
    for name in (*PROCESSES, "dockerd"):
        if name in mean:
            row[f"{name}_rss_mib"] = round(mean[name], 1)
            row[f"{name}_rss_peak_mib"] = round(peak[name], 1)
            row[f"{name}_cpu"] = round(cpu[name], 2)
    row["machine_cpu"] = round(cpu["machine"], 2)
    row["tail_lines_per_s"] = None if tail_rate is None else round(tail_rate)
    return row


def plot(rows: list[dict[str, Any]], backend: str, rate: int, path: Path) -> None:
    with chart(path, figsize=(8, 4.2)) as ax:
        width = 0.2
        for i, name in enumerate(PROCESSES):
            xs = [j + (i - 1.5) * width for j in range(len(rows))]
            ax.bar(xs, [r.get(f"{name}_rss_mib", 0) for r in rows], width, label=name)
        labels = [
            r["case"] if not r["runners"] else f"{r['case']}\n{r['lines_per_s']:,} lines/s"
            for r in rows
        ]
        ax.set_xticks(range(len(rows)), labels)
        ax.set_ylabel("RSS, MiB (mean over the window)")
        ax.set_title(
            f"Memory at rest and with runners asked for {rate:,} lines/s in all ({backend})"
        )
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(PROCESSES))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
