"""The full download beside the store's own export of the same lines, in the same run.

Seeds a temporary SQLite database (user, project, deployment) and pushes ``--download``
lines of the deployment (and as many of other deployments) straight into the store, then,
``--runs`` times each, reads:

- the store's direct export: one ``/select/logsql/query`` of the deployment's lines, no
  pipes (VictoriaLogs' own JSON rows, unsorted), as the floor;
- the API's download (``/api/v1/projects/<ref>/logs/download``, txt and ndjson) served by
  uvicorn in this process, with a token.

Both are read by ``curl`` into a file (a reader outside this process: the app's CPU is
this process's), lines counted after. Prints lines/s, the ratio to the export and this
process's RSS (start and peak, sampled every 0.2 s); writes ``results/download-<backend>.json``
and ``.png``. Run through ``benchmarks/throughput.py --download N``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from huey import MemoryHuey

from benchmarks._harness import bench_dir, chart, rss_mib, save, table
from benchmarks.queries import STEP_NS, bench_settings, ingest, push_url, seed
from devpush.main import create_app
from devpush.units import SECOND_NS
from devpush.workers.queue import DeployQueue
from devpush_dev.log_stacks import LogStack, plan


def curl(url: str, *, out: Path, headers: Path, data: dict[str, str] | None = None) -> float:
    """Seconds to read ``url`` to ``out`` (headers from a file: no secret in argv)."""
    argv = ["curl", "-sS", "--fail", "-o", str(out), "-H", f"@{headers}", url]
    for key, value in (data or {}).items():
        argv[-1:-1] = ["--data-urlencode", f"{key}={value}"]
    began = time.perf_counter()
    subprocess.run(argv, check=True, timeout=1200)
    return time.perf_counter() - began


def count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def run(lines: int, runs: int, backend: str) -> int:
    from tests.fixtures.web import LiveServer

    load = os.getloadavg()[0]
    with ExitStack() as exits:
        tmp = bench_dir(exits)
        stack = LogStack(plan(backend, tmp))
        exits.callback(stack.stop)
        stack.start_store()
        settings = bench_settings(tmp, backend, stack.store_url)
        queue = DeployQueue(MemoryHuey(immediate=False))
        slug, token, labels = seed(settings, queue)
        end_ns = time.time_ns()
        began = time.perf_counter()
        url = push_url(backend, stack.store_url)
        ingest(url, labels, lines, end_ns)
        ingest(url, {**labels, "deployment_id": "other"}, lines, end_ns)
        if backend == "victorialogs":
            httpx.get(f"{stack.store_url}/internal/force_flush", timeout=60)
        print(f"ingested {2 * lines} lines in {time.perf_counter() - began:.1f}s")
        start_ns = end_ns - lines * STEP_NS - SECOND_NS
        dep = labels["deployment_id"]
        files = Path(exits.enter_context(tempfile.TemporaryDirectory()))
        auth = files / "auth.txt"
        auth.write_text(f"Authorization: Bearer {token}\n")
        auth.chmod(0o600)
        none = files / "none.txt"
        none.write_text("X-Bench: 1\n")
        app = LiveServer(create_app(settings, queue=queue))
        base = exits.enter_context(app)
        params = f"deployment={dep}&since={start_ns}&until={end_ns + 1}"
        peak = [rss_mib(os.getpid())]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                peak.append(rss_mib(os.getpid()))

        threading.Thread(target=sample, daemon=True).start()
        export_query = f'_stream:{{project_id="{labels["project_id"]}"}} deployment_id:="{dep}"'
        cases: dict[str, Any] = {
            "store export (direct)": lambda out: curl(
                f"{stack.store_url}/select/logsql/query",
                out=out,
                headers=none,
                data={"query": export_query, "start": str(start_ns), "end": str(end_ns + 1)},
            ),
            "download txt (API)": lambda out: curl(
                f"{base}/api/v1/projects/{slug}/logs/download?{params}&format=txt",
                out=out,
                headers=auth,
            ),
            "download ndjson (API)": lambda out: curl(
                f"{base}/api/v1/projects/{slug}/logs/download?{params}&format=ndjson",
                out=out,
                headers=auth,
            ),
        }
        rows = []
        for name, read in cases.items():
            took, got = [], 0
            for i in range(runs):
                out = files / f"out-{i}"
                took.append(read(out))
                got = count_lines(out)
                out.unlink()
            seconds = statistics.median(took)
            rows.append(
                {
                    "read": name,
                    "lines": got,
                    "seconds": round(seconds, 2),
                    "lines_per_s": round(got / seconds),
                    "best_lines_per_s": round(got / min(took)),
                }
            )
        done.set()
    floor = rows[0]["lines_per_s"]
    for row in rows:
        row["ratio"] = round(row["lines_per_s"] / floor, 2)
    rss = {"rss_start_mib": round(peak[0], 1), "rss_peak_mib": round(max(peak), 1)}
    print(table(rows, ["read", "lines", "seconds", "lines_per_s", "best_lines_per_s", "ratio"]))
    print(f"app process RSS: {rss}; load average before: {load:.2f}")
    path = save("download", backend, rows, lines=lines, runs=runs, load_before=load, **rss)
    plot(rows, backend, lines, path.with_suffix(".png"))
    print(f"wrote {path}")
    return 0


def plot(rows: list[dict], backend: str, lines: int, path: Path) -> None:
    with chart(path, figsize=(7, 4)) as ax:
        ax.bar([r["read"] for r in rows], [r["lines_per_s"] for r in rows])
        ax.axhline(200_000, color="grey", linestyle="--", label="target 200,000 lines/s")
        for x, r in enumerate(rows):
            ax.annotate(f"{r['lines_per_s']:,}\nx{r['ratio']}", (x, r["lines_per_s"]), ha="center")
        ax.set_ylabel("lines/s (median)")
        ax.set_title(f"Full download of {lines:,} lines ({backend})")
        ax.legend(fontsize=7)
