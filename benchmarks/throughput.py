"""Lossless throughput and rotation under load: runners writing steadily, rate stepped up.

For each (runners, total rate) step, the runners print numbered lines (``seq <n>`` and
``--pad`` filler bytes) for ``--seconds`` (60 by default), with the worker's log options
(``--max-size``/``--max-file``, 10m x 5 by default); then the store is asked how many
distinct lines of each runner it holds, once the count stops growing. During the run it
samples the RSS and CPU share of the collector and the store, the CPU of dockerd (which
writes the json-file logs) and of the whole machine, and the busy time of the disk that
holds Docker's logs, and names what saturated first. A step is lossless when every line
arrived; the first step with a loss ends that runner count. Prints a table, writes
``results/<name>-<backend>.json`` and ``.png`` (``--append`` adds the steps to the rows
already there). Memory over many runners is ``benchmarks/memory.py``.

    uv run python benchmarks/throughput.py [--seconds 60] [--runners 1,10]
        [--rates 2000,5000,10000,20000] [--max-size 10m --max-file 5] [--pad 60]
        [--name throughput] [--append] [--log-store loki]

``--download N`` measures the full download instead: N stored lines of one deployment
read through the API (txt, ndjson) beside the store's own export of them, in the same
run, with the ratio (benchmarks/download.py).

    uv run python benchmarks/throughput.py --download 1000000 [--runs 3]
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import docker
import httpx

from benchmarks._harness import (
    RESULTS,
    Sampler,
    Stack,
    bench_dir,
    chart,
    disk_of,
    dockerd_pid,
    new_ids,
    parser,
    rss_mib,
    run_runner,
    save,
    start_stack,
    table,
    writer,
)
from devpush_dev.otelcol import engine_containers_dir


def distinct(stack: Stack, project_id: str) -> dict[str, int]:
    """Distinct lines per deployment, asked of the store directly."""
    if stack.backend == "victorialogs":
        query = (
            f'_stream:{{project_id="{project_id}"}} | stats by (deployment_id) count_uniq(_msg) n'
        )
        answer = httpx.post(
            f"{stack.store_url}/select/logsql/query", data={"query": query}, timeout=120
        )
        answer.raise_for_status()
        rows = [httpx.Response(200, content=line).json() for line in answer.text.splitlines()]
        return {row["deployment_id"]: int(row["n"]) for row in rows}
    # Loki: count by deployment (Loki keeps one copy of identical entries).
    query = f'sum by (deployment_id) (count_over_time({{project_id="{project_id}"}}[1h]))'
    answer = httpx.get(f"{stack.store_url}/loki/api/v1/query", params={"query": query}, timeout=120)
    answer.raise_for_status()
    return {
        r["metric"]["deployment_id"]: int(float(r["value"][1]))
        for r in answer.json()["data"]["result"]
    }


def first_saturated(cpu: dict[str, float], cores: int) -> str:
    """What ran out first: one process at a full core, all cores, the disk, or none."""
    for name in ("collector", "store", "dockerd"):
        if cpu.get(name, 0.0) >= 0.9:
            return f"{name} CPU"
    if cpu["machine"] >= 0.9 * cores:
        return "machine CPU (writers + dockerd)"
    if cpu["disk_util"] >= 0.9:
        return "disk"
    return "writers (nothing else near its limit)"


def step(stack: Stack, client: docker.DockerClient, args: object, runners: int, rate: int) -> dict:
    project = new_ids()["project_id"]
    load_1m = os.getloadavg()[0]  # the machine is shared: say how busy it was
    per_runner = max(10, rate // runners)
    argv, total = writer(seconds=args.seconds, rate=per_runner, pad=args.pad)  # type: ignore[attr-defined]
    pids = {"collector": stack.collector.pid, "store": stack.store.pid}
    if (dockerd := dockerd_pid()) is not None:
        pids["dockerd"] = dockerd  # writes the json-file logs
    sampler = Sampler(pids, disk_of(engine_containers_dir()))
    sampler.start()
    containers = []
    began = time.monotonic()
    try:
        for _ in range(runners):
            ids = {**new_ids(), "project_id": project}
            containers.append(
                run_runner(
                    client,
                    ids,
                    argv,
                    max_size=args.max_size,  # type: ignore[attr-defined]
                    max_file=args.max_file,  # type: ignore[attr-defined]
                )
            )
        for container in containers:
            container.wait(timeout=args.seconds * 4 + 120)  # type: ignore[attr-defined]
        wrote = time.monotonic() - began
        # Wait until the store's count stops growing (10 s unchanged) or has everything.
        last, still = -1, time.monotonic()
        while True:
            counts = distinct(stack, project)
            got = sum(counts.values())
            if got >= total * runners or time.monotonic() - still > 10:
                break
            if got != last:
                last, still = got, time.monotonic()
            time.sleep(1)
        caught_up = time.monotonic() - began
    finally:
        sampler.done.set()
        for container in containers:
            container.remove(force=True)
    cpu = sampler.cpu_share()
    lost = total * runners - got
    return {
        "runners": runners,
        "load_1m": round(load_1m, 2),
        "target_rate": per_runner * runners,
        "written": total * runners,
        "written_rate": round(total * runners / wrote),
        "stored": got,
        "lost": lost,
        "lossless": lost == 0,
        "caught_up_s": round(caught_up, 1),
        "collector_rss_peak_mib": round(sampler.peak["collector"], 1),
        "store_rss_peak_mib": round(sampler.peak["store"], 1),
        "collector_cpu": round(cpu["collector"], 2),
        "store_cpu": round(cpu["store"], 2),
        "dockerd_cpu": round(cpu.get("dockerd", float("nan")), 2),
        "machine_cpu": round(cpu["machine"], 2),
        "disk_util": round(cpu["disk_util"], 2),
        "disk_mib_s": round(cpu["disk_mib_s"], 1),
        "saturated": first_saturated(cpu, os.cpu_count() or 1),
    }


def plot(
    rows: list[dict], backend: str, path: Path, *, logs: str = "10m x 5", pad: int = 60
) -> None:
    with chart(path, figsize=(7, 4)) as ax:
        for runners in sorted({r["runners"] for r in rows}):
            mine = [r for r in rows if r["runners"] == runners]
            xs = [r["written_rate"] for r in mine]
            ax.plot(
                xs,
                [r["stored"] / r["written"] * 100 for r in mine],
                "o-",
                label=f"{runners} runner(s)",
            )
        ax.set_xlabel("lines/s written (all runners)")
        ax.set_ylabel("% of lines stored")
        ax.set_title(f"Lines stored; runner logs {logs}, json lines of ~{pad + 234} B ({backend})")
        ax.legend()


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--runners", default="1,10")
    p.add_argument("--rates", default="2000,5000,10000,20000")
    p.add_argument("--pad", type=int, default=60, help="filler bytes per line")
    p.add_argument("--max-size", default="10m")
    p.add_argument("--max-file", type=int, default=5)
    p.add_argument("--name", default="throughput")
    p.add_argument(
        "--append",
        action="store_true",
        help="add these steps to the rows already in results/<name>-<backend>.json",
    )
    p.add_argument("--download", type=int, help="lines: measure the full download instead")
    p.add_argument("--runs", type=int, default=3, help="reads of each kind (--download)")
    args = p.parse_args()
    if args.download:
        from benchmarks.download import run

        return run(args.download, args.runs, args.log_store)
    client = docker.from_env()
    rows = []
    with ExitStack() as exits:
        stack = start_stack(args.log_store, bench_dir(exits), exits)
        at_rest = {
            "collector_rss_mib": rss_mib(stack.collector.pid),
            "store_rss_mib": rss_mib(stack.store.pid),
        }
        for runners in (int(n) for n in args.runners.split(",")):
            for rate in (int(r) for r in args.rates.split(",")):
                row = step(stack, client, args, runners, rate)
                rows.append(row)
                print(f"  {row}", file=sys.stderr)
                if not row["lossless"]:
                    break  # loss began: no higher rate for this runner count
    print(f"at rest: {at_rest}")
    print(table(rows, list(rows[0])))
    earlier = RESULTS / f"{args.name}-{args.log_store}.json"
    if args.append and earlier.exists():
        rows = json.loads(earlier.read_text())["rows"] + rows
        rows.sort(key=lambda r: (r["runners"], r["written_rate"]))
    path = save(
        args.name,
        args.log_store,
        rows,
        at_rest=at_rest,
        seconds=args.seconds,
        log_options=f"{args.max_size} x {args.max_file}",
        pad=args.pad,
    )
    logs = f"{args.max_size} x {args.max_file}"
    plot(rows, args.log_store, path.with_suffix(".png"), logs=logs, pad=args.pad)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
