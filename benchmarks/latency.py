"""Line -> live view latency, beside ``docker logs --follow`` (the floor), per rate.

A runner prints numbered lines with the shell's ``echo`` (one write per line, no stdio
buffering) at 100, 1,000 and 5,000 lines/s. Each line is followed at once by:

- the app's live tail (``devpush.services.logs.tail_events``: the code path of the SSE
  view and the API's tail, with the default settings);
- ``docker logs --follow --timestamps`` through the Docker API.

Latency = the wall clock when received minus Docker's time of the line (taken when the
engine read it from the runner). It also times the first line of a new container:
``docker start`` -> visible in the tail. Prints a table, writes
``results/latency-<backend>.json`` and ``.png``.

    uv run python benchmarks/latency.py [--seconds 10] [--rates 100,1000,5000] [--log-store loki]
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import docker

from benchmarks._harness import (
    Stack,
    bench_dir,
    figure,
    new_ids,
    parser,
    percentile,
    run_runner,
    save,
    save_figure,
    start_stack,
    table,
)
from devpush.logs.paging import LogCursor
from devpush.logs.query import LogQuery
from devpush.services.log_store import log_store, open_http_client
from devpush.services.logs import LogLine, tail_events


def echo_writer(*, seconds: float, rate: int) -> tuple[list[str], int]:
    per_batch = max(1, rate // 10)
    total = per_batch * max(1, round(seconds * 10))
    script = (
        f'i=0; while [ $i -lt {total} ]; do echo "seq $i"; i=$((i+1)); '
        f"if [ $((i % {per_batch})) -eq 0 ]; then sleep 0.1; fi; done"
    )
    return ["sh", "-c", script], total


def docker_ns(stamp: str) -> int:
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(whole + "+00:00").timestamp())
    return seconds * 1_000_000_000 + int(fraction.ljust(9, "0")[:9])


def follow_docker(container: docker.models.containers.Container, out: list[float]) -> None:
    for raw in container.logs(stream=True, follow=True, timestamps=True):
        received = time.time_ns()
        for line in raw.decode(errors="replace").splitlines():
            stamp, _, _text = line.partition(" ")
            out.append((received - docker_ns(stamp)) / 1e9)


async def follow_tail(
    stack: Stack, ids: dict[str, str], total: int, out: list[float], first: list[float]
) -> None:
    settings = stack.settings()
    query = LogQuery(
        project_id=ids["project_id"], deployment_id=ids["deployment_id"], direction="forward"
    )
    cursor = LogCursor(timestamp_ns=time.time_ns() - 5 * 10**9)
    seen: set[str] = set()
    async with open_http_client(settings) as http:
        store = log_store(settings, http)
        async for _kind, item in tail_events(store, query, cursor, max_chars=None):
            now = time.time_ns()
            if not isinstance(item, LogLine):
                raise RuntimeError(f"the tail failed: {item}")
            if not first:
                first.append(now / 1e9)
            if item.line not in seen:
                seen.add(item.line)
                out.append((now - item.timestamp_ns) / 1e9)
            if len(seen) >= total:
                return


def measure(stack: Stack, client: docker.DockerClient, rate: int, seconds: float) -> dict:
    ids = new_ids()
    argv, total = echo_writer(seconds=seconds, rate=rate)
    container = run_runner(client, ids, argv, start=False)
    tail: list[float] = []
    floor: list[float] = []
    first: list[float] = []
    try:

        async def run() -> None:
            task = asyncio.create_task(follow_tail(stack, ids, total, tail, first))
            await asyncio.sleep(1.0)  # the tail is polling before the runner starts
            started = time.time()
            container.start()
            thread = threading.Thread(target=follow_docker, args=(container, floor), daemon=True)
            thread.start()
            try:
                await asyncio.wait_for(task, timeout=seconds + 60)
            except TimeoutError:
                print(f"  {rate}/s: tail saw {len(tail)} of {total} in time", file=sys.stderr)
            first_line.append(first[0] - started if first else float("nan"))

        first_line: list[float] = []
        asyncio.run(run())
        container.wait(timeout=60)
    finally:
        container.remove(force=True)
    row = {"rate": rate, "lines": total, "received": len(tail), "first_line_s": first_line[0]}
    for name, values in (("tail", tail), ("docker", floor)):
        for p in (50, 95, 99):
            row[f"{name}_p{p}"] = percentile(values, p)
    return row


def plot(rows: list[dict], backend: str, path: Path) -> None:
    plt = figure()
    fig, ax = plt.subplots(figsize=(7, 4))
    rates = [str(r["rate"]) for r in rows]
    width = 0.13
    for i, (name, label) in enumerate(
        (("tail", "devpush live tail"), ("docker", "docker logs -f"))
    ):
        for j, p in enumerate((50, 95, 99)):
            xs = [k + (i * 3 + j - 2.5) * width for k in range(len(rows))]
            ax.bar(xs, [r[f"{name}_p{p}"] for r in rows], width, label=f"{label} p{p}")
    ax.set_xticks(range(len(rows)), rates)
    ax.set_xlabel("lines/s from one runner")
    ax.set_ylabel("seconds from Docker's line time")
    ax.set_title(f"Line -> live view latency ({backend})")
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path)


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rates", default="100,1000,5000")
    args = p.parse_args()
    client = docker.from_env()
    rows = []
    with ExitStack() as exits:
        stack = start_stack(args.log_store, bench_dir(exits), exits)
        for rate in (int(r) for r in args.rates.split(",")):
            rows.append(measure(stack, client, rate, args.seconds))
            print(f"  {rate}/s done", file=sys.stderr)
    columns = ["rate", "lines", "received", "first_line_s"]
    columns += [f"{n}_p{p}" for n in ("tail", "docker") for p in (50, 95, 99)]
    print(table(rows, columns))
    path = save("latency", args.log_store, rows, seconds=args.seconds)
    plot(rows, args.log_store, path.with_suffix(".png"))
    print(f"wrote {path} and {path.with_suffix('.png').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
