"""How much the collector takes into its queue while the store is down, before it blocks.

Starts VictoriaLogs and the collector (Docker/otelcol/config.yaml, or ``--config``),
stops the store, and starts ``--runners`` runners printing ``seq <n>`` lines (plus
``--pad`` filler bytes) at ``--rate`` lines/s in all, with the worker's log options.
Every second it reads the collector's metrics: the exporter queue's size and capacity
(in the queue's sizer unit), the lines the receiver took in, and the bytes of json-file
log the runners wrote. It stops when the queue is full and the receiver has taken no
line for 3 s (it blocks), or after ``--seconds``. Prints the figures and writes
``results/collector-queue.json``.

    uv run python benchmarks/collector_queue.py [--runners 10] [--rate 1000]
        [--seconds 120] [--queue-bytes N] [--config path/to/config.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import docker
import httpx

from benchmarks._harness import new_ids, run_runner, writer
from devpush.services.collector import parse_queue
from devpush_dev import otelcol
from devpush_dev.ports import free_port
from devpush_dev.victorialogs import start_victorialogs

RESULTS = Path(__file__).parent / "results"
ACCEPTED = re.compile(
    r"^otelcol_receiver_accepted_log_records(?:_total)?(?:\{[^}]*\})?\s+(\S+)", re.M
)


def json_bytes(containers: list) -> int:
    total = 0
    for container in containers:
        container.reload()
        path = Path(container.attrs["LogPath"])
        total += sum(p.stat().st_size for p in path.parent.glob(f"{path.name}*"))
    return total


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--runners", type=int, default=10)
    args.add_argument("--rate", type=int, default=1000, help="lines/s of all runners together")
    args.add_argument("--pad", type=int, default=0, help="filler bytes per line")
    args.add_argument("--seconds", type=float, default=120)
    args.add_argument("--queue-bytes", type=int, help=otelcol.CollectorEnv.QUEUE_BYTES)
    args.add_argument("--config", type=Path, help="another collector config (e.g. an old one)")
    opts = args.parse_args()
    if opts.queue_bytes:
        os.environ[otelcol.CollectorEnv.QUEUE_BYTES] = str(opts.queue_bytes)
    if opts.config:
        otelcol.CONFIG = opts.config.resolve()  # read by collector_argv

    client = docker.from_env()
    with ExitStack() as exits, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = start_victorialogs(data_dir=root / "victorialogs", http_port=free_port())
        exits.callback(store.child.stop)
        collector = otelcol.start_collector(
            state_dir=root / "otelcol",
            containers_dir=otelcol.engine_containers_dir(),
            victorialogs_url=store.url,
            metrics_port=free_port(),
            health_port=free_port(),
        )
        exits.callback(collector.child.stop)
        store.child.stop()

        per_runner = max(1, opts.rate // opts.runners)
        argv, _ = writer(seconds=opts.seconds + 30, rate=per_runner, pad=opts.pad)
        runners = [run_runner(client, new_ids(), argv) for _ in range(opts.runners)]
        for container in runners:
            exits.callback(container.remove, force=True)

        started = time.monotonic()
        accepted_at, last_accepted = started, -1.0
        samples = []
        while time.monotonic() - started < opts.seconds:
            time.sleep(1)
            text = httpx.get(collector.metrics_url, timeout=5).text
            state = parse_queue(text)
            accepted = sum(float(v) for v in ACCEPTED.findall(text))
            if accepted != last_accepted:
                accepted_at, last_accepted = time.monotonic(), accepted
            sample = {
                "t": round(time.monotonic() - started, 1),
                "queue_size": state.size if state else None,
                "queue_capacity": state.capacity if state else None,
                "lines_in": accepted,
                "json_bytes": json_bytes(runners),
            }
            samples.append(sample)
            print(json.dumps(sample), flush=True)
            if state and state.full and time.monotonic() - accepted_at >= 3:
                break
    last = samples[-1]
    blocked = bool(last["queue_size"] and last["queue_size"] >= 0.95 * last["queue_capacity"])
    summary = {
        "runners": opts.runners,
        "rate": opts.rate,
        "pad": opts.pad,
        "config": str(opts.config or otelcol.CONFIG),
        "queue_bytes_env": opts.queue_bytes,
        "blocked": blocked,
        "seconds_to_block": round(accepted_at - started, 1) if blocked else None,
        "lines_in_queue": last["lines_in"],
        "queue_size": last["queue_size"],
        "queue_capacity": last["queue_capacity"],
        "json_mib_written": round(last["json_bytes"] / 1024**2, 2),
        "json_bytes_per_line": round(last["json_bytes"] / max(1, last["lines_in"]), 1)
        if not blocked
        else None,
        "queue_bytes_per_line": round(last["queue_size"] / max(1, last["lines_in"]), 1),
    }
    print(json.dumps(summary, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "collector-queue.json").write_text(json.dumps([summary, samples], indent=1))


if __name__ == "__main__":
    sys.exit(main())
