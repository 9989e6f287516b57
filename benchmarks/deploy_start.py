"""Deploy start: from the deploy call to ``building``, after the worker sat idle 0, 5 or 30 s.

The processes of the local run (scripts/dev/local.sh), on loopback in a temporary
directory: the app under uvicorn, ``python -m devpush.workers`` reaching Docker through its
socket-proxy door, Caddy and its route resolver, a SQLite database and the SQLite deploy
queue. Each deploy is ``POST /api/v1/projects/<project>/deployments`` with a token, of
examples/hello-python from a git repository made in that directory; the clock starts
just before the request.

Two figures per deploy:

- *polled*: the deployment's row is read every ``--poll`` seconds (20 ms) from the request's
  answer on, until its status is no longer ``queued``; the resolution is the poll
  interval plus one SQLite read (about a millisecond);
- *claimed*: the row's ``started_at``, set by the worker when it claims the job
  (the same machine's clock, microseconds), minus the request's start. It is stamped
  just before the worker commits ``building``, so it is the polled figure without
  the polling.

Before each timed deploy the previous one has settled (``running`` or ``failed``) and the
worker has then sat idle for the gap (``--idle``, cycled over the deploys). One deploy
right after the worker started comes first and is reported on its own.

    uv run python -m benchmarks.deploy_start                 # 20 deploys, idle 0,5,30 s
    uv run python -m benchmarks.deploy_start --worker-threads 1 --deploys 6

Needs the Docker engine, Caddy and ``devpush/runner-python:local``
(scripts/dev/test-deps.sh). Results: ``benchmarks/results/<name>.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import docker
import httpx
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from benchmarks._harness import RESULTS, chart, machine, percentile, table
from devpush.core.config import Settings
from devpush.core.db import create_db_engine, session_factory
from devpush.core.migrate import upgrade_to_head
from devpush.models import Deployment, DeploymentStatus, Team, TeamMember, TeamRole
from devpush.services.deployments import ensure_production_environment
from devpush.services.tokens import create_token
from devpush.services.users import create_user
from devpush_dev.caddy import loopback_settings, start_caddy
from devpush_dev.example import RUNNER_IMAGE, example_project, example_repo
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import start_resolver
from devpush_dev.runners import remove_project_leftovers
from devpush_dev.socket_proxy import WORKER_DOOR, start_socket_proxy
from devpush_dev.web_app import start_worker, web_app_process

SETTLED = {DeploymentStatus.RUNNING, DeploymentStatus.FAILED}
#: The app as scripts/dev/local.sh serves it (the port is added).


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--deploys", type=int, default=20, help="timed deploys (default 20)")
    p.add_argument(
        "--idle",
        default="0,5,30",
        help="seconds the worker sits idle before a deploy, cycled (default 0,5,30)",
    )
    p.add_argument("--poll", type=float, default=0.02, help="row poll interval, s (0.02)")
    p.add_argument(
        "--worker-threads",
        type=int,
        default=Settings.model_fields["worker_threads"].default,
        help="the worker's threads (default: the setting's default, as local runs use it)",
    )
    p.add_argument("--name", default="deploy-start", help="results file name")
    p.epilog = __doc__.split("\n\n", 1)[1]
    return p.parse_args()


@dataclass
class Bench:
    sessions: sessionmaker[Session]
    api: httpx.Client
    slug: str
    poll: float


def seed(sessions: sessionmaker[Session], repo: Path) -> tuple[str, str, str]:
    """A team, its owner with an API token, and a project: (project id, slug, token)."""
    with sessions() as session:
        team = Team(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
        project = example_project(repo, team, "hello")
        session.add(project)
        ensure_production_environment(session, project=project)
        user = create_user(session, email="bench@example.org", password=uuid.uuid4().hex)
        session.add(TeamMember(team=team, user=user, role=TeamRole.OWNER))
        _, token = create_token(session, user=user, name="deploy-start")
        session.commit()
        return project.id, project.slug, token


def child_env(settings: Settings, docker_host: str, threads: int) -> dict[str, str]:
    return {
        "DEVPUSH_ENVIRONMENT": "development",
        "DEVPUSH_DATA_DIR": str(settings.data_dir),
        "DEVPUSH_DATABASE_URL": settings.database_url,
        "DEVPUSH_QUEUE_URL": settings.queue_url,
        "DEVPUSH_SECRET_KEY": settings.secret_key.get_secret_value(),
        "DEVPUSH_RUNNER_NETWORK": settings.runner_network,
        "DEVPUSH_RUNNER_MEMORY": settings.runner_memory,
        "DEVPUSH_RUNNER_CPUS": str(settings.runner_cpus),
        "DEVPUSH_RUNNER_STOP_TIMEOUT_SECONDS": str(settings.runner_stop_timeout_seconds),
        "DEVPUSH_PROXY_ADMIN_URL": settings.proxy_admin_url,
        "DEVPUSH_PROXY_RESOLVER_ADDR": settings.proxy_resolver_addr,
        "DEVPUSH_PROXY_NOT_FOUND_PORT": str(settings.proxy_not_found_port),
        "DEVPUSH_PUBLIC_PORT": str(settings.public_port),
        "DEVPUSH_DOCKER_HOST": docker_host,
        "DEVPUSH_WORKER_THREADS": str(threads),
    }


def row(sessions: sessionmaker[Session], deployment_id: str) -> Deployment:
    with sessions() as session:
        found = session.get(Deployment, deployment_id, populate_existing=True)
        assert found is not None, deployment_id
        session.expunge(found)
        return found


def deploy_once(bench: Bench) -> dict[str, Any]:
    """One deploy call, timed to ``building``; waits for it to settle afterwards."""
    wall, started = time.time(), time.monotonic()
    answer = bench.api.post(f"/projects/{bench.slug}/deployments", json={})
    answered = time.monotonic() - started
    answer.raise_for_status()
    deployment_id = answer.json()["id"]
    deadline = started + 120
    while True:
        found = row(bench.sessions, deployment_id)
        if found.status is not DeploymentStatus.QUEUED:
            polled = time.monotonic() - started
            break
        if time.monotonic() > deadline:
            sys.exit(f"deployment {deployment_id} still queued after 120 s")
        time.sleep(bench.poll)
    claimed = None
    if found.started_at is not None:
        stamp = found.started_at
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        claimed = stamp.timestamp() - wall
    while found.status not in SETTLED:
        if time.monotonic() > deadline:
            sys.exit(f"deployment {deployment_id} not settled after 120 s ({found.status})")
        time.sleep(0.2)
        found = row(bench.sessions, deployment_id)
    return {
        "deployment_id": deployment_id,
        "api_answer_s": answered,
        "polled_s": polled,
        "claimed_s": claimed,
        "settled": str(found.status),
        "error": found.error,
        "load_1m": os.getloadavg()[0],
    }


@contextlib.contextmanager
def local_run(root: Path, threads: int, poll: float) -> Iterator[Bench]:
    """The app, the worker, Caddy and its resolver, the worker's socket proxy, and a token's
    API client."""
    client = docker.from_env()
    try:
        client.images.get(RUNNER_IMAGE)
    except docker.errors.ImageNotFound:
        sys.exit(f"needs {RUNNER_IMAGE}: run scripts/dev/test-deps.sh")
    db_url = f"sqlite:///{root / 'devpush.sqlite3'}"
    upgrade_to_head(db_url)
    settings = loopback_settings(
        data_dir=root,
        database_url=db_url,
        queue_url=f"sqlite:///{root / 'queue.sqlite3'}",
        secret_key=SecretStr(uuid.uuid4().hex),
        runner_network=f"devpush_bench_{uuid.uuid4().hex[:8]}",
        runner_memory="256m",
        runner_cpus=0.5,
        runner_stop_timeout_seconds=1,
        proxy_resolver_addr=f"127.0.0.1:{free_port()}",  # the one resolver started below
    )
    sessions = session_factory(create_db_engine(db_url))
    project_id, slug, token = seed(sessions, example_repo(root / "hello", message="Hi"))
    with ExitStack() as exits:
        resolver = start_resolver(
            database_url=db_url,
            address=settings.proxy_resolver_addr,
            not_found_port=settings.proxy_not_found_port,
            state_dir=root,
        )
        exits.callback(resolver.stop)
        caddy = start_caddy(settings=settings, state_dir=root / "caddy")
        exits.callback(caddy.stop)
        proxy = start_socket_proxy(
            env_file=WORKER_DOOR,
            port=free_port(),
            state_dir=root / "proxy",
            socket_path=settings.docker_host.removeprefix("unix://"),
        )
        exits.callback(proxy.stop)
        env = child_env(settings, proxy.url, threads)
        worker = start_worker(log_path=root / "worker.log", env=env)
        exits.callback(worker.stop)
        port = free_port()
        app = web_app_process(state_dir=root, port=port, env=env).start()
        exits.callback(app.stop)
        exits.callback(cleanup, client, project_id, settings.runner_network)
        url = f"http://127.0.0.1:{port}/api/v1"
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as api:
            try:
                yield Bench(sessions, api, slug, poll)
            except BaseException:
                print(f"worker log:\n{worker.log_tail()}", file=sys.stderr)
                raise


def cleanup(client: docker.DockerClient, project_id: str, network: str) -> None:
    remove_project_leftovers(client, project_id)
    for found in client.networks.list(names=[network]):
        with contextlib.suppress(docker.errors.APIError):
            found.remove()


def summarise(runs: list[dict[str, Any]], gaps: list[float]) -> list[dict[str, Any]]:
    rows = []
    groups = [("first after start", [r for r in runs if r["idle_s"] is None])]
    groups += [(f"{gap:g} s idle", [r for r in runs if r["idle_s"] == gap]) for gap in gaps]
    groups.append(("all timed", [r for r in runs if r["idle_s"] is not None]))
    for label, group in groups:
        if not group:
            continue
        polled = [r["polled_s"] for r in group]
        claimed = [r["claimed_s"] for r in group if r["claimed_s"] is not None]
        rows.append(
            {
                "idle": label,
                "n": len(group),
                "p50 s": percentile(polled, 50),
                "p95 s": percentile(polled, 95),
                "max s": max(polled),
                "claimed p50 s": percentile(claimed, 50),
                "claimed p95 s": percentile(claimed, 95),
                "API answer p50 s": percentile([r["api_answer_s"] for r in group], 50),
            }
        )
    return rows


def plot(runs: list[dict[str, Any]], gaps: list[float], path: Path, title: str) -> None:
    with chart(path, figsize=(8, 4.5)) as ax:
        labels = ["first after start", *(f"{g:g} s idle" for g in gaps)]
        for i, idle in enumerate([None, *gaps]):
            values = [r["polled_s"] for r in runs if r["idle_s"] == idle]
            ax.scatter([i] * len(values), values, alpha=0.6, color="tab:blue")
            if values:
                ax.plot([i - 0.25, i + 0.25], [percentile(values, 50)] * 2, color="black")
                ax.plot([i - 0.25, i + 0.25], [percentile(values, 95)] * 2, color="tab:red", ls=":")
        ax.axhline(1.0, color="tab:red", lw=1, label="target p95 ≤ 1 s")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_ylabel("deploy call → building (s)")
        ax.set_ylim(bottom=0)
        ax.set_title(title, fontsize=9)
        ax.plot([], [], color="black", label="p50")
        ax.plot([], [], color="tab:red", ls=":", label="p95")
        ax.legend(loc="upper right", fontsize=8)


def main() -> int:
    args = parse_args()
    gaps = [float(g) for g in args.idle.split(",")]
    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="devpush-deploy-start-") as tmp,
        local_run(Path(tmp), args.worker_threads, args.poll) as bench,
    ):
        runs.append({"idle_s": None, **deploy_once(bench)})
        print(f"first deploy after the worker started: {runs[-1]['polled_s']:.3f} s")
        for i in range(args.deploys):
            idle = gaps[i % len(gaps)]
            time.sleep(idle)
            runs.append({"idle_s": idle, **deploy_once(bench)})
            r = runs[-1]
            print(
                f"{i + 1:>3}/{args.deploys} idle {idle:>4g} s: polled {r['polled_s']:.3f} s,"
                f" claimed {r['claimed_s']:.3f} s, {r['settled']} (load {r['load_1m']:.1f})"
            )
    rows = summarise(runs, gaps)
    print()
    print(table(rows, list(rows[0])))
    failed = [r for r in runs if r["settled"] != "running"]
    if failed:
        print(f"{len(failed)} deploys did not reach running: {failed[0]['error']}")
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "benchmark": args.name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {**machine(), "load_average_before": load_before},
        "settings": {
            "queue": "sqlite",
            "worker_threads": args.worker_threads,
            "poll_s": args.poll,
            "idle_s": gaps,
            "deploys": args.deploys,
        },
        "rows": rows,
        "runs": runs,
    }
    path = RESULTS / f"{args.name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    title = (
        f"deploy call → building, SQLite queue, {args.worker_threads} worker thread(s), "
        f"polled every {args.poll * 1000:g} ms; load avg {load_before[0]:.1f} → "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared)"
    )
    plot(runs, gaps, RESULTS / f"{args.name}.png", title)
    print(f"\n{path}\n{path.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
