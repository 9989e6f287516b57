"""The webhook's answer time: from a forge's POST to its answer, on the app under uvicorn.

A forge gives up after 10 s (GitHub) and devpush promises an answer within 1 s: the
endpoint only checks the signature, records the delivery and enqueues. Three scenarios,
each a run of GitHub-style ``push`` calls (``X-Hub-Signature-256``, a new delivery id
and a new commit each, so each queues a deployment):

- *sequential*: one call at a time;
- *concurrent*: ``--clients`` threads calling at once (a busy organisation's pushes);
- *replays*: the same deliveries again (a forge's redelivery): answered from the record,
  no second deployment.

The app runs as ``uvicorn devpush.main:app`` on a temporary SQLite database and SQLite
queue (the local run's); nothing consumes the queue, so the figures are the endpoint's
own. Signatures are HMAC-SHA256 as GitHub computes them (the tests check ours against
GitHub's own code).

    uv run python -m benchmarks.webhook                # 200 calls per scenario, 8 clients
    uv run python -m benchmarks.webhook --calls 50 --clients 4

Results: ``benchmarks/results/webhook-sqlite.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from benchmarks._harness import RESULTS, bench_project, chart, percentile, save, table
from devpush.core.config import Settings
from devpush.core.crypto import fernet_for
from devpush.core.db import create_db_engine, session_factory
from devpush.core.migrate import upgrade_to_head
from devpush.services.webhooks.secret import rotate_secret
from devpush_dev.ports import free_port
from devpush_dev.web_app import web_app_process

ROOT = Path(__file__).resolve().parents[1]
REPO_URL = "https://git.example.org/shop/web.git"
SECRET_KEY = "webhook-benchmark-secret-key"  # noqa: S105 - a throwaway database


def make_project(settings: Settings) -> tuple[str, str]:
    """A project with a webhook in a fresh database; its id and the webhook's secret."""
    upgrade_to_head(settings.database_url)
    sessions = session_factory(create_db_engine(settings.database_url))
    with sessions() as session:
        project = bench_project(
            "Shop",
            "shop",
            repo_url=REPO_URL,
            runner_image="devpush/runner-python:local",
            start_command="python3 app.py",
        )
        session.add(project)
        session.flush()
        secret = rotate_secret(session, project=project, fernet=fernet_for(SECRET_KEY))
        session.commit()
        return project.id, secret


def push_call(secret: str, *, delivery: str, commit: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "after": commit,
            "deleted": False,
            "repository": {"clone_url": REPO_URL, "html_url": REPO_URL.removesuffix(".git")},
        }
    ).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={signature}",
        "User-Agent": "GitHub-Hookshot/bench",
    }


def timed(client: httpx.Client, path: str, call: tuple[bytes, dict[str, str]]) -> float:
    body, headers = call
    start = time.perf_counter()
    answer = client.post(path, content=body, headers=headers)
    elapsed = time.perf_counter() - start
    if answer.status_code not in (200, 202):
        raise SystemExit(f"unexpected answer {answer.status_code}: {answer.text}")
    return elapsed


def scenario(
    name: str, base: str, path: str, calls: list[tuple[bytes, dict[str, str]]], clients: int
) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=30) as client:
        if clients == 1:
            times = [timed(client, path, call) for call in calls]
        else:
            with ThreadPoolExecutor(clients) as pool:
                times = list(pool.map(lambda call: timed(client, path, call), calls))
    return {
        "scenario": name,
        "calls": len(times),
        "clients": clients,
        "p50_ms": percentile(times, 50) * 1000,
        "p95_ms": percentile(times, 95) * 1000,
        "p99_ms": percentile(times, 99) * 1000,
        "max_ms": max(times) * 1000,
        "times_ms": [t * 1000 for t in times],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per scenario")
    parser.add_argument("--clients", type=int, default=8, help="threads of the concurrent run")
    args = parser.parse_args()
    with ExitStack() as exits:
        root = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="devpush-hook-")))
        settings = Settings(
            database_url=f"sqlite:///{root / 'devpush.sqlite3'}",
            queue_url=f"sqlite:///{root / 'queue.sqlite3'}",
            data_dir=root,
            secret_key=SecretStr(SECRET_KEY),
        )
        project_id, secret = make_project(settings)
        env = {
            "DEVPUSH_DATABASE_URL": settings.database_url,
            "DEVPUSH_QUEUE_URL": settings.queue_url,
            "DEVPUSH_DATA_DIR": str(root),
            "DEVPUSH_SECRET_KEY": SECRET_KEY,
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        }
        port = free_port()
        app = web_app_process(state_dir=root, port=port, env=env).start()
        exits.callback(app.stop)
        base, path = f"http://127.0.0.1:{port}", f"/api/v1/hooks/{project_id}"

        def calls() -> list[tuple[bytes, dict[str, str]]]:
            return [
                push_call(secret, delivery=str(uuid.uuid4()), commit=uuid.uuid4().hex + "0" * 8)
                for _ in range(args.calls)
            ]

        sequential = calls()
        rows = [
            scenario("sequential", base, path, sequential, 1),
            scenario("concurrent", base, path, calls(), args.clients),
            scenario("replays", base, path, sequential, 1),
        ]
    columns = ("scenario", "calls", "clients", "p50_ms", "p95_ms", "p99_ms", "max_ms")
    print(table(rows, columns))
    saved = save("webhook", "sqlite", rows)
    with chart(RESULTS / "webhook-sqlite.png", figsize=(8, 4.5)) as ax:
        ax.boxplot([row["times_ms"] for row in rows], whis=(1, 99), showfliers=True)
        ax.set_xticks(range(1, len(rows) + 1), [f"{r['scenario']} ({r['clients']})" for r in rows])
        ax.set_ylabel("POST → answer (ms)")
        ax.set_title(
            f"Webhook answer time, {args.calls} GitHub pushes per scenario (SQLite, uvicorn)"
        )
    print(f"results: {saved} and {RESULTS / 'webhook-sqlite.png'}")


if __name__ == "__main__":
    main()
