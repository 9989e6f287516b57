"""Build cache: the build step of a first deploy (empty cache) against a second one
(the same commit, the project's cache volume filled), for examples/cached-deps.

Each round makes a new project (so a new, empty cache volume) deploying the sample, whose
build command pip-installs ``demo-dep`` (a wheel of ``--size-mb`` MB made here) from a
package index on the project's network (devpush_dev/package_index.py). The index sends the
wheel at ``--rate`` MB/s, standing in for a remote index (nothing here has internet), and
says it may be cached, as PyPI does. The deploy job runs in this process (``run_deploy``,
straight to the engine); the build step's time is read from the runner's own log
timestamps: from its ``==> Build:`` line to its ``==> Pre-deploy:`` line.

    uv run python -m benchmarks.build_cache                  # 3 rounds, 20 MB at 10 MB/s
    uv run python -m benchmarks.build_cache --rounds 1 --rate 0

Needs the Docker engine and ``devpush/runner-python:local``. Results:
``benchmarks/results/build-cache.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import docker
from huey import MemoryHuey
from pydantic import SecretStr

from benchmarks._harness import RESULTS, machine, table
from devpush.core.config import Settings
from devpush.core.crypto import encrypt_mapping, fernet_for
from devpush.core.db import create_db_engine, session_factory
from devpush.core.migrate import upgrade_to_head
from devpush.models import Deployment, DeploymentStatus, Project, Team
from devpush.services import networks
from devpush.services.deployments import create_deployment, ensure_production_environment
from devpush.workers.queue import DeployQueue
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.deploy import run_deploy
from devpush_dev import package_index
from devpush_dev.example import RUNNER_IMAGE
from devpush_dev.runners import remove_project_leftovers


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rounds", type=int, default=3, help="projects, each deployed twice")
    p.add_argument("--size-mb", type=float, default=20, help="the wheel's size (default 20)")
    p.add_argument("--rate", type=float, default=10, help="the index's MB/s; 0: unthrottled")
    return p.parse_args()


def build_seconds(container: Any) -> float:
    """From the runner's ``==> Build:`` line to its ``==> Pre-deploy:`` line (Docker's
    timestamps of the two lines)."""
    marks: dict[str, datetime] = {}
    for raw in container.logs(timestamps=True).decode(errors="replace").splitlines():
        stamp, _, line = raw.partition(" ")
        for mark in ("==> Build:", "==> Pre-deploy:"):
            if line.startswith(mark) and mark not in marks:
                marks[mark] = datetime.fromisoformat(stamp)
    return (marks["==> Pre-deploy:"] - marks["==> Build:"]).total_seconds()


def deploy(ctx: WorkerContext, project_id: str) -> Deployment:
    queue = DeployQueue(MemoryHuey(immediate=False))  # the job runs here, not from the queue
    with ctx.sessions() as session:
        project = session.get(Project, project_id)
        assert project is not None
        deployment_id = create_deployment(
            session, project=project, branch=None, created_by=None, queue=queue
        ).id
    run_deploy(deployment_id, ctx=ctx)
    with ctx.sessions() as session:
        deployment = session.get(Deployment, deployment_id)
        assert deployment is not None
        if deployment.status is not DeploymentStatus.RUNNING:
            raise SystemExit(f"deploy failed: {deployment.error} {deployment.failure_lines}")
        return deployment


def main() -> None:
    args = parse_args()
    client = docker.from_env()
    client.images.get(RUNNER_IMAGE)
    wheel = package_index.make_wheel(payload_bytes=int(args.size_mb * 1024 * 1024))
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="devpush-bench-") as tmp:
        root = Path(tmp)
        db_url = f"sqlite:///{root / 'bench.sqlite3'}"
        upgrade_to_head(db_url)
        settings = Settings(
            database_url=db_url,
            queue_url=f"sqlite:///{root / 'queue.sqlite3'}",
            runner_network=f"devpush_runner_bench_{uuid.uuid4().hex[:6]}",
            secret_key=SecretStr("bench-secret-key"),
            runner_stop_timeout_seconds=1,
        )
        ctx = WorkerContext(
            settings=settings,
            sessions=session_factory(create_db_engine(db_url)),
            docker=client,
        )
        fernet = fernet_for(settings.secret_key.get_secret_value())
        repo = package_index.cached_deps_repo(root / "cached-deps")
        for number in range(args.rounds):
            with ctx.sessions() as session:
                project = Project(
                    team=Team(name="Bench", slug=f"bench-{number}"),
                    name="cached-deps",
                    slug=f"deps-{number}",
                    host_label=f"deps-{uuid.uuid4().hex[:8]}",
                    repo_url=str(repo),
                    runner_image=RUNNER_IMAGE,
                    build_command=package_index.BUILD_COMMAND,
                    start_command=package_index.START_COMMAND,
                    port=8000,
                )
                session.add(project)
                ensure_production_environment(session, project=project)
                session.commit()
                project_id = project.id
            network = networks.ensure_project_network(client, settings, project_id)
            try:
                with package_index.package_index(
                    client, network=network, wheel=wheel, rate=int(args.rate * 1024 * 1024)
                ) as index_url:
                    with ctx.sessions() as session:
                        row = session.get(Project, project_id)
                        assert row is not None
                        row.env_vars_encrypted = encrypt_mapping(
                            fernet, package_index.index_variables(index_url)
                        )
                        session.commit()
                    times = []
                    for _ in range(2):
                        deployment = deploy(ctx, project_id)
                        assert deployment.container_id is not None
                        times.append(build_seconds(client.containers.get(deployment.container_id)))
                rows.append({"round": number + 1, "first_s": times[0], "second_s": times[1]})
                print(f"round {number + 1}: first {times[0]:.2f} s, second {times[1]:.2f} s")
            finally:
                remove_project_leftovers(client, project_id)
                for found in client.networks.list(names=[network]):
                    with contextlib.suppress(docker.errors.APIError):
                        found.remove()
    first = statistics.median(r["first_s"] for r in rows)
    second = statistics.median(r["second_s"] for r in rows)
    print(table(rows, ["round", "first_s", "second_s"]))
    print(f"median build step: first {first:.2f} s, second {second:.2f} s")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "build-cache.json"
    out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "wheel_mb": args.size_mb,
                "index_rate_mb_s": args.rate,
                "rows": rows,
                "median_first_s": first,
                "median_second_s": second,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
