"""Time the logs API's first page for a deployment with 100 000 lines in Loki.

What it does: starts a Loki from the repository config on loopback ports (or uses
``--loki-url``), creates a user, project and deployment in a temporary SQLite database,
pushes N lines with the deployment's labels, then times
``GET /api/v1/projects/{id}/logs?deployment=…&limit=100`` through the real app (in-process,
lifespan included) and prints the cold and warm timings.

What it needs: a Loki binary (``DEVPUSH_LOKI_BIN``, ``loki`` on PATH or the cache dir, see
docs/logging.md) or a running Loki. Without one it exits with status 2 and says so.

    uv run python benchmarks/logs_first_page.py [--lines 100000] [--runs 20] [--loki-url URL]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from huey import MemoryHuey
from pydantic import SecretStr

from app.core.config import Settings
from app.core.crypto import fernet_for
from app.core.db import create_db_engine, session_factory
from app.core.labels import LOKI_JOB
from app.core.migrate import upgrade_to_head
from app.local.binaries import BinaryNotFoundError
from app.local.loki import start_loki
from app.main import create_app
from app.services.deployments import create_deployment
from app.services.projects import ProjectCreate, create_project
from app.services.teams import create_team
from app.services.tokens import create_token
from app.services.users import create_user
from app.workers.queue import DeployQueue

SECRET = "benchmark-secret-key-not-for-production"  # noqa: S105 - a throwaway temp database
BATCH = 5000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _loki_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _seed(settings: Settings, queue: DeployQueue) -> tuple[str, str, dict[str, str]]:
    upgrade_to_head(settings.database_url)
    engine = create_db_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            user = create_user(session, email="bench@example.org", password="benchmark-pass")  # noqa: S106
            team = create_team(session, name="Bench", owner=user)
            data = ProjectCreate.model_validate(
                {
                    "name": "Bench",
                    "repo_url": "https://git.example.org/bench.git",
                    "runner_image": "devpush/runner-python:local",
                    "start_command": "python3 -m http.server $PORT",
                }
            )
            project = create_project(session, team=team, data=data, fernet=fernet_for(SECRET))
            _, token = create_token(session, user=user, name="bench")
            session.commit()
            dep = create_deployment(
                session, project=project, branch=None, created_by=user, queue=queue
            )
            labels = {
                "project_id": dep.project_id,
                "environment_id": dep.environment_id,
                "branch": dep.branch,
                "deployment_id": dep.id,
                "job": LOKI_JOB,
            }
            return project.id, token, labels
    finally:
        engine.dispose()


def _push(loki_url: str, labels: dict[str, str], count: int) -> None:
    start = time.time_ns() - count * 1000  # 1 µs apart, ending now
    for offset in range(0, count, BATCH):
        streams = {}
        for i in range(offset, min(count, offset + BATCH)):
            stream = "stderr" if i % 10 == 0 else "stdout"
            line = f"line {i} INFO request handled path=/items/{i} status=200 duration_ms={i % 97}"
            streams.setdefault(stream, []).append([str(start + i * 1000), line])
        body = {
            "streams": [
                {"stream": {**labels, "stream": s}, "values": v} for s, v in streams.items()
            ]
        }
        response = httpx.post(f"{loki_url}/loki/api/v1/push", json=body, timeout=60)
        response.raise_for_status()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--loki-url", help="a running Loki (default: start one)")
    args = parser.parse_args()

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devpush-bench-")))
        loki_url = args.loki_url
        if loki_url is None:
            try:
                loki = start_loki(
                    data_dir=tmp / "loki", http_port=_free_port(), grpc_port=_free_port()
                )
            except BinaryNotFoundError as exc:
                print(f"needs Loki: {exc}", file=sys.stderr)
                print("or pass --loki-url of a running Loki (docs/logging.md)", file=sys.stderr)
                return 2
            stack.callback(loki.child.stop)
            loki_url = loki.url
        if not _loki_ready(loki_url):
            print(f"needs Loki: nothing ready at {loki_url}/ready", file=sys.stderr)
            return 2

        settings = Settings(
            database_url=f"sqlite:///{tmp / 'bench.sqlite3'}",
            data_dir=tmp,
            queue_url=f"sqlite:///{tmp / 'queue.sqlite3'}",
            secret_key=SecretStr(SECRET),
            log_store="loki",
            log_store_url=loki_url,
        )
        queue = DeployQueue(MemoryHuey(immediate=False))
        project_id, token, labels = _seed(settings, queue)
        began = time.perf_counter()
        _push(loki_url, labels, args.lines)
        print(f"pushed {args.lines} lines in {time.perf_counter() - began:.1f}s")

        client = stack.enter_context(TestClient(create_app(settings, queue=queue)))
        url = f"/api/v1/projects/{project_id}/logs"
        params = {"deployment": labels["deployment_id"], "limit": "100"}
        headers = {"Authorization": f"Bearer {token}"}
        timings = []
        for _ in range(args.runs):
            began = time.perf_counter()
            response = client.get(url, params=params, headers=headers)
            timings.append(time.perf_counter() - began)
            response.raise_for_status()
            assert len(response.json()["items"]) == 100
        warm = sorted(timings[1:]) or timings
        print(f"first page (100 of {args.lines} lines, newest first):")
        print(f"  cold {timings[0] * 1000:.1f} ms")
        print(
            f"  warm median {statistics.median(warm) * 1000:.1f} ms, "
            f"p95 {warm[int(0.95 * (len(warm) - 1))] * 1000:.1f} ms over {len(warm)} runs"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
