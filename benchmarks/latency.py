"""Line -> live view latency, beside ``docker logs --follow`` (the floor), per rate and
number of viewers, with the CPU each part spends.

A runner prints numbered lines with the shell's ``echo`` (one write per line, no stdio
buffering) at each ``--rates`` rate. Each line is followed at once by:

- ``--viewers`` live tails of that deployment (``devpush.services.logs.tail_events``: the
  code path of the SSE view and the API's tail, in this process: the viewers of one
  deployment share one store tail, as in the app);
- ``docker logs --follow --timestamps`` through the Docker API;
- with ``--vl-tail``, VictoriaLogs' own streaming tail (``/select/logsql/tail``) of the
  deployment, as the alternative to the app's tail (``vltail_*`` columns).

The app's tail follows the running runner through its read-only socket-proxy door
(``Docker/docker-proxy/app.env``, started here with Debian's haproxy) beside the store
tail, as the app does with ``log_follow_docker_host`` set; ``--no-follow-docker``
measures the store tail alone.

Latency = the wall clock when received minus Docker's time of the line (taken when the
engine read it from the runner), over every viewer's lines. CPU (cores, averaged over the
run) of this process (the app's tails; the Docker follower's thread is a small part),
the collector and the store. It also times the first line of a new container:
``docker start`` -> visible in the tail. ``--tail-poll``, ``--tail-flush``,
``--tail-delay`` set the app's settings, ``--collector-poll``/``--collector-flush`` the
collector's timers (Docker/otelcol/config.yaml). Prints a table, writes
``results/<name>-<backend>.json`` and ``.png``.

    uv run python benchmarks/latency.py [--seconds 10] [--rates 100,1000,5000]
        [--viewers 1,10] [--tail-poll 0.25] [--tail-flush 0.2] [--tail-delay 3]
        [--collector-poll 200ms] [--collector-flush 200ms] [--name latency] [--log-store loki]
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import docker

from benchmarks._harness import (
    RESULTS,
    Stack,
    bench_dir,
    chart,
    cpu_seconds,
    new_ids,
    parser,
    percentile,
    run_runner,
    save,
    start_stack,
    table,
)
from devpush.core.config import Settings
from devpush.logs.paging import LogCursor
from devpush.logs.query import LogQuery
from devpush.logs.store import LogStore
from devpush.services.log_store import log_store, open_http_client
from devpush.services.logs import LogLine, tail_events
from devpush.units import SECOND_NS, parse_rfc3339_ns
from devpush_dev.otelcol import CollectorEnv
from devpush_dev.ports import free_port
from devpush_dev.socket_proxy import APP_DOOR, socket_path_from_docker_host, start_socket_proxy


def echo_writer(*, seconds: float, rate: int) -> tuple[list[str], int]:
    per_batch = max(1, rate // 10)
    total = per_batch * max(1, round(seconds * 10))
    script = (
        f'i=0; while [ $i -lt {total} ]; do echo "seq $i"; i=$((i+1)); '
        f"if [ $((i % {per_batch})) -eq 0 ]; then sleep 0.1; fi; done"
    )
    return ["sh", "-c", script], total


def follow_docker(container: docker.models.containers.Container, out: list[float]) -> None:
    for raw in container.logs(stream=True, follow=True, timestamps=True):
        received = time.time_ns()
        for line in raw.decode(errors="replace").splitlines():
            stamp, _, _text = line.partition(" ")
            written = parse_rfc3339_ns(stamp)
            assert written is not None, stamp  # Docker stamps every line so
            out.append((received - written) / SECOND_NS)


async def follow_vl_tail(
    store_url: str, ids: dict[str, str], total: int, out: list[float], refresh: str
) -> None:
    """VictoriaLogs' streaming tail of the deployment: every line's latency, once."""
    import httpx

    from devpush.services.victorialogs._models import parse_time_ns

    query = f"deployment_id:={json.dumps(ids['deployment_id'])}"
    params = {"query": query, "refresh_interval": refresh, "offset": refresh}
    # Lines that reach the store later than ``offset`` are not streamed: count them.
    seen: set[str] = set()
    async with (
        httpx.AsyncClient(base_url=store_url, timeout=httpx.Timeout(10, read=None)) as http,
        http.stream("GET", "/select/logsql/tail", params=params) as answer,
    ):
        answer.raise_for_status()
        async for text in answer.aiter_lines():
            now = time.time_ns()
            if not text.strip():
                continue
            row = json.loads(text)
            line = row.get("_msg", "")
            if line not in seen:
                seen.add(line)
                out.append((now - parse_time_ns(row["_time"])) / SECOND_NS)
            if len(seen) >= total:
                return


async def follow_tail(
    store: LogStore, ids: dict[str, str], total: int, out: list[float], first: list[float]
) -> None:
    """One viewer: every line's latency, once (a resumed tail may repeat a line)."""
    query = LogQuery(
        project_id=ids["project_id"], deployment_id=ids["deployment_id"], direction="forward"
    )
    cursor = LogCursor(timestamp_ns=time.time_ns() - 5 * SECOND_NS)
    seen: set[str] = set()
    async for _kind, item in tail_events(store, query, cursor, max_chars=None):
        now = time.time_ns()
        if not isinstance(item, LogLine):
            raise RuntimeError(f"the tail failed: {item}")
        if not first:
            first.append(now / SECOND_NS)
        if item.line not in seen:
            seen.add(item.line)
            out.append((now - item.timestamp_ns) / SECOND_NS)
        if len(seen) >= total:
            return


def measure(
    stack: Stack,
    client: docker.DockerClient,
    rate: int,
    *,
    seconds: float,
    viewers: int,
    overrides: dict[str, float | str],
    vl_tail: str | None,
    door_pid: int | None,
) -> dict:
    ids = new_ids()
    argv, total = echo_writer(seconds=seconds, rate=rate)
    container = run_runner(client, ids, argv, start=False)
    tails: list[list[float]] = [[] for _ in range(viewers)]
    floor: list[float] = []
    vltail: list[float] = []
    first: list[float] = []
    pids = {"app": os.getpid(), "collector": stack.collector.pid, "store": stack.store.pid}
    if door_pid is not None:  # the app's socket-proxy door (haproxy), when it follows Docker
        pids["door"] = door_pid
    busy: dict[str, float] = {}
    try:

        async def run() -> None:
            settings = stack.settings(**overrides)
            async with open_http_client(settings) as http:
                store = log_store(settings, http)
                tasks = [
                    asyncio.create_task(follow_tail(store, ids, total, tails[i], first))
                    for i in range(viewers)
                ]
                if vl_tail is not None:
                    tasks.append(
                        asyncio.create_task(
                            follow_vl_tail(stack.store_url, ids, total, vltail, vl_tail)
                        )
                    )
                await asyncio.sleep(1.0)  # the tails are polling before the runner starts
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                began = time.monotonic()
                started = time.time()
                container.start()
                thread = threading.Thread(
                    target=follow_docker, args=(container, floor), daemon=True
                )
                thread.start()
                try:
                    await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 60)
                except TimeoutError:
                    got = min(len(t) for t in tails)
                    print(f"  {rate}/s: a viewer saw {got} of {total} in time", file=sys.stderr)
                took = time.monotonic() - began
                for name, pid in pids.items():
                    busy[name] = (cpu_seconds(pid) - before[name]) / took
                first_line.append(first[0] - started if first else float("nan"))

        first_line: list[float] = []
        asyncio.run(run())
        container.wait(timeout=60)
    finally:
        container.remove(force=True)
    everyone = [value for tail in tails for value in tail]
    row: dict = {
        "rate": rate,
        "viewers": viewers,
        "lines": total,
        "received_min": min(len(t) for t in tails),
        "first_line_s": round(first_line[0], 3),
    }
    if vl_tail is not None:
        row["vltail_received"] = len(vltail)
    for name, values in (("tail", everyone), ("docker", floor), ("vltail", vltail)):
        for p in (50, 95, 99):
            row[f"{name}_p{p}"] = percentile(values, p) if values else None
    for name, cores in busy.items():
        row[f"cpu_{name}"] = round(cores, 2)
    return row


def plot(rows: list[dict], backend: str, path: Path) -> None:
    labels = [
        f"{r['rate']}/s x{r['viewers']}" + ("" if r.get("follow_docker", True) else "\nstore only")
        for r in rows
    ]
    with chart(path, 1, 2, figsize=(11, 4), width_ratios=(3, 2)) as (ax, cpu):
        width = 0.13
        for i, (name, label) in enumerate(
            (("tail", "devpush live tail"), ("docker", "docker logs -f"))
        ):
            for j, p in enumerate((50, 95, 99)):
                xs = [k + (i * 3 + j - 2.5) * width for k in range(len(rows))]
                ax.bar(xs, [r[f"{name}_p{p}"] for r in rows], width, label=f"{label} p{p}")
        ax.set_xticks(range(len(rows)), labels, fontsize=7, rotation=45, ha="right")
        ax.set_xlabel("lines/s from one runner x viewers")
        ax.set_ylabel("seconds from Docker's line time (log scale)")
        ax.set_yscale("log")
        ax.set_title(f"Line -> live view latency ({backend})")
        ax.legend(fontsize=7, ncol=2)
        bottom = [0.0] * len(rows)
        for part in ("app", "door", "collector", "store"):
            values = [r.get(f"cpu_{part}", 0.0) for r in rows]
            cpu.bar(range(len(rows)), values, 0.6, bottom=bottom, label=part)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        cpu.set_xticks(range(len(rows)), labels, fontsize=7, rotation=45, ha="right")
        cpu.set_ylabel("cores")
        cpu.set_title("CPU during the run")
        cpu.legend(fontsize=7)


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rates", default="100,1000,5000")
    p.add_argument("--viewers", default="1", help="viewers of the deployment, e.g. 1,10")
    p.add_argument("--tail-poll", type=float, help="log_tail_poll_seconds")
    p.add_argument("--tail-flush", type=float, help="log_tail_flush_seconds")
    p.add_argument("--tail-delay", type=float, help="log_tail_delay_seconds")
    p.add_argument("--collector-poll", help="the collector's file poll, e.g. 50ms")
    p.add_argument("--collector-flush", help="the collector's batch flush, e.g. 50ms")
    p.add_argument(
        "--no-follow-docker",
        action="store_true",
        help="the store tail alone (no log_follow_docker_host)",
    )
    p.add_argument(
        "--vl-tail",
        metavar="REFRESH",
        help="also follow VictoriaLogs' /select/logsql/tail (refresh_interval, offset: 100ms)",
    )
    p.add_argument("--name", default="latency")
    p.add_argument("--append", action="store_true", help="add rows to the saved ones")
    args = p.parse_args()
    overrides: dict[str, float | str] = {
        key: value
        for key, value in (
            ("log_tail_poll_seconds", args.tail_poll),
            ("log_tail_flush_seconds", args.tail_flush),
            ("log_tail_delay_seconds", args.tail_delay),
        )
        if value is not None
    }
    # Read by Docker/otelcol/config.yaml when the collector starts.
    if args.collector_poll:
        os.environ[CollectorEnv.POLL_INTERVAL] = args.collector_poll
    if args.collector_flush:
        os.environ[CollectorEnv.FLUSH_TIMEOUT] = args.collector_flush
    client = docker.from_env()
    rows = []
    load = os.getloadavg()[0]
    with ExitStack() as exits:
        root = bench_dir(exits)
        stack = start_stack(args.log_store, root, exits)
        door_pid = None
        if not args.no_follow_docker:
            door = start_socket_proxy(
                env_file=APP_DOOR,
                port=free_port(),
                state_dir=root / "app-door",
                socket_path=socket_path_from_docker_host(Settings().docker_host),
            )
            exits.callback(door.stop)
            door_pid = door.child.pid
            overrides["log_follow_docker_host"] = door.url
        for viewers in (int(v) for v in args.viewers.split(",")):
            for rate in (int(r) for r in args.rates.split(",")):
                row = measure(
                    stack,
                    client,
                    rate,
                    seconds=args.seconds,
                    viewers=viewers,
                    overrides=overrides,
                    vl_tail=args.vl_tail,
                    door_pid=door_pid,
                )
                rows.append(row)
                print(f"  {rate}/s x{viewers} done", file=sys.stderr)
    setting = {
        **overrides,
        "collector_poll": args.collector_poll or "config default",
        "collector_flush": args.collector_flush or "config default",
        "follow_docker": not args.no_follow_docker,
        "vl_tail": args.vl_tail,
        "load_before": round(load, 2),
    }
    for row in rows:
        row.update(setting)
    earlier = RESULTS / f"{args.name}-{args.log_store}.json"
    if args.append and earlier.exists():
        rows = json.loads(earlier.read_text())["rows"] + rows
    columns = ["rate", "viewers", "received_min", "first_line_s"]
    names = ("tail", "docker", "vltail") if args.vl_tail else ("tail", "docker")
    columns += [f"{n}_p{p}" for n in names for p in (50, 95, 99)]
    columns += ["vltail_received"] if args.vl_tail else []
    columns += ["cpu_app", "cpu_collector", "cpu_store"]
    columns += [] if args.no_follow_docker else ["cpu_door"]
    print(table(rows, columns))
    print(f"settings: {setting}")
    path = save(args.name, args.log_store, rows, seconds=args.seconds)
    plot(rows, args.log_store, path.with_suffix(".png"))
    print(f"wrote {path} and {path.with_suffix('.png').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
