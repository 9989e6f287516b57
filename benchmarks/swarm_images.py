"""Swarm mode: a deployment's code reaching another host, the two ways of issue #22.

- **Fetch:** the task on node 2 fetches the deployment's archive (the checkout and the
  step script, as the worker offers it) from the source server on the test bridge and
  unpacks it: the time the fetch itself takes inside the task (the same command as a
  runner task's, ``runner_services._FETCH``).
- **Registry:** the build (``FROM`` the runner image, ``COPY . .``) is pushed from node 1
  (the manager, where the worker builds) to the registry on the test bridge, then pulled
  on node 2: the push and the pull, timed apart. The runner image's own layers are in the
  registry before the rounds (pushed once, like any deploy after the first), and node 2
  has them loaded, as every host has its runner images.

For the example app (``examples/hello-python``) and for it with a ``--size-mb`` file of
random bytes (incompressible: the push's gzip gains nothing, the worst case for it).
The build itself is not counted: a build command runs in the task either way, a
Dockerfile on the manager's engine.

    flock /tmp/devpush-swarm-helpers.lock uv run python -m benchmarks.swarm_images

Needs root and what the swarm tests need (devpush_dev/engines.py), and the pinned
registry (scripts/dev/go-tool.sh registry). Results: ``benchmarks/results/swarm-images.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._harness import RESULTS, machine, table
from devpush.services import runner
from devpush.services.cluster.runner_services import _FETCH
from devpush.services.cluster.source_server import SourceServer
from devpush_dev.engines import Engine, running_swarm
from devpush_dev.example import EXAMPLE_APP, RUNNER_IMAGE
from devpush_dev.ports import free_port
from devpush_dev.registry import start_registry

DOCKERFILE = f"FROM {RUNNER_IMAGE}\nWORKDIR /srv/site\nCOPY . .\n"
#: The task's fetch, timed by itself (the runner task runs ``_FETCH`` the same way).
TIMED_FETCH = f"import time\nt = time.monotonic()\n{_FETCH}print(time.monotonic() - t)\n"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rounds", type=int, default=3, help="rounds per size (default 3)")
    p.add_argument("--size-mb", type=int, default=50, help="the big file (default 50)")
    return p.parse_args()


def timed(call: Any) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def fetch_seconds(node: Engine, server: SourceServer, archive: bytes) -> float:
    token = server.offers.offer(archive, ttl_seconds=120)
    out = node.docker(
        "run", "--rm", "-e", f"DEVPUSH_SOURCE_URL={server.url}",
        "-e", f"DEVPUSH_SOURCE_TOKEN={token}", RUNNER_IMAGE, "python3", "-c", TIMED_FETCH,
    )  # fmt: skip
    return float(out.splitlines()[-1])


def task_start_seconds(node_1: Engine, node_2: Engine) -> float:
    """A service of the loaded runner image on node 2: created → its task running (the
    test engines pull nothing: ``DOCKER_SERVICE_PREFER_OFFLINE_IMAGE``)."""
    name = f"bench-start-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    node_1.docker(
        "service", "create", "--detach", "--quiet", "--no-resolve-image", "--name", name,
        "--constraint", f"node.id=={node_2.node_id}", "--restart-condition", "none",
        RUNNER_IMAGE, "sleep", "30",
    )  # fmt: skip
    try:
        deadline = started + 120
        while "Running" not in node_1.docker(
            "service", "ps", "--format", "{{.CurrentState}}", name
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not run within 120 s")
            time.sleep(0.1)
        return time.monotonic() - started
    finally:
        node_1.docker("service", "rm", name, check=False)


def one_round(
    node_1: Engine, node_2: Engine, server: SourceServer, registry: str, app: Path
) -> dict[str, float]:
    archive = runner.source_archive(source_dir=app, script="true\n")
    fetch = fetch_seconds(node_2, server, archive)
    tag = f"{registry}/devpush/bench:{uuid.uuid4().hex[:12]}"
    node_1.docker("build", "-q", "-t", tag, str(app))
    push = timed(lambda: node_1.docker("push", "-q", tag))
    pull = timed(lambda: node_2.docker("pull", "-q", tag))
    node_1.docker("rmi", tag, check=False)
    node_2.docker("rmi", tag, check=False)
    return {
        "archive_mib": len(archive) / 2**20,
        "fetch_s": fetch,
        "push_s": push,
        "pull_s": pull,
        "push_pull_s": push + pull,
    }


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-images-"))
    rows: list[dict[str, Any]] = []
    try:
        small = work / "example"
        shutil.copytree(EXAMPLE_APP, small)
        (small / "Dockerfile").write_text(DOCKERFILE)
        big = work / "big"
        shutil.copytree(small, big)
        (big / "blob.bin").write_bytes(os.urandom(args.size_mb * 2**20))
        with running_swarm(2, images=(RUNNER_IMAGE,)) as swarm:
            node_1, node_2 = swarm.engines
            address = f"{swarm.gateway}:{free_port(swarm.gateway)}"
            registry = start_registry(state_dir=work / "registry", address=address)
            server = SourceServer(swarm.gateway).start()
            try:
                base = f"{address}/devpush/base:1"
                node_1.docker("tag", RUNNER_IMAGE, base)
                first = timed(lambda: node_1.docker("push", "-q", base))
                print(f"first push of the runner image's layers: {first:.2f} s")
                starts = [task_start_seconds(node_1, node_2) for _ in range(3)]
                print("a task of a loaded image, created → running:", starts)
                for label, app in (("example app", small), (f"+{args.size_mb} MB", big)):
                    for index in range(args.rounds):
                        row = {"what": label, "round": index + 1}
                        row.update(one_round(node_1, node_2, server, address, app))
                        rows.append(row)
                        print(json.dumps(row))
            finally:
                server.stop()
                registry.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    columns = ["what", "round", "archive_mib", "fetch_s", "push_s", "pull_s", "push_pull_s"]
    print(table(rows, columns))
    summary = {
        label: {
            key: statistics.median(r[key] for r in rows if r["what"] == label)
            for key in ("fetch_s", "push_s", "pull_s", "push_pull_s")
        }
        for label in dict.fromkeys(r["what"] for r in rows)
    }
    print(json.dumps(summary, indent=2))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "swarm-images.json"
    out.write_text(
        json.dumps({"machine": machine(), "rows": rows, "medians": summary}, indent=2) + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
