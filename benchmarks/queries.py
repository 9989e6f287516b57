"""Queries over one deployment's 1,000,000 lines (plus others'), through the app and direct.

Seeds a temporary SQLite database (user, project, deployment), ingests ``--lines`` lines
of the deployment and ``--others`` lines of other deployments straight into the store
(Loki's push API, which both stores take: fast, and fine for query timings), then times
each query ``--runs`` times through the app's API (in-process, the real app) and as the
one request the backend client sends to the store, in the same run:

- first page (newest 100), a deep page (100 lines around the middle of the range),
  a plain search, a regex, the volume histogram (60 bars), and the full download
  (the Logs view's NDJSON download of every line: lines/s and this process's RSS).

Prints a table with p50s and the devpush/direct ratio; writes ``results/queries-<backend>.json``
and ``.png``. This replaces the older Loki-only ``logs_first_page.py``.

    uv run python benchmarks/queries.py [--lines 1000000] [--others 1000000] [--runs 10]
        [--log-store loki]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from huey import MemoryHuey
from pydantic import SecretStr

from benchmarks._harness import bench_dir, chart, parser, rss_mib, save, table
from devpush.core.config import Settings
from devpush.core.crypto import fernet_for
from devpush.core.db import create_db_engine, session_factory
from devpush.core.migrate import upgrade_to_head
from devpush.logs.query import LogQuery
from devpush.logs.store import Span
from devpush.main import create_app
from devpush.services.deployments import create_deployment
from devpush.services.log_store import log_store, open_http_client
from devpush.services.logs import volume_bars
from devpush.services.projects import ProjectCreate, create_project
from devpush.services.teams import create_team
from devpush.services.tokens import create_token
from devpush.services.users import create_user
from devpush.units import SECOND_NS
from devpush.workers.queue import DeployQueue
from devpush_dev.log_stacks import LogStack, plan

SECRET = "benchmark-secret-key-not-for-production"  # noqa: S105 - a throwaway database
EMAIL, PASSWORD = "bench@example.org", "benchmark-pass"
BATCH = 10_000
STEP_NS = 1_000_000  # 1 ms apart: 1M lines span ~17 minutes, ending now


def bench_settings(root: Path, log_store: str, store_url: str) -> Settings:
    """The settings of a benchmark's server: its files in ``root``, its logs in the store."""
    return Settings(
        database_url=f"sqlite:///{root / 'bench.sqlite3'}",
        data_dir=root,
        queue_url=f"sqlite:///{root / 'queue.sqlite3'}",
        secret_key=SecretStr(SECRET),
        log_store=log_store,
        log_store_url=store_url,
    )


def seed(settings: Settings, queue: DeployQueue) -> tuple[str, str, dict[str, str]]:
    upgrade_to_head(settings.database_url)
    engine = create_db_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            user = create_user(session, email=EMAIL, password=PASSWORD)
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
            }
            return project.slug, token, labels
    finally:
        engine.dispose()


def push_url(backend: str, url: str) -> str:
    if backend == "loki":
        return f"{url}/loki/api/v1/push"
    # As the collector stores them: these fields make the stream; raw lines.
    fields = "project_id,environment_id,branch,deployment_id,stream"
    return f"{url}/insert/loki/api/v1/push?_stream_fields={fields}&disable_message_parsing=1"


def ingest(url: str, labels: dict[str, str], count: int, end_ns: int) -> None:
    start = end_ns - count * STEP_NS
    with httpx.Client(timeout=120) as client:
        for offset in range(0, count, BATCH):
            streams: dict[str, list[list[str]]] = {}
            for i in range(offset, min(count, offset + BATCH)):
                stream = "stderr" if i % 10 == 0 else "stdout"
                level = "ERROR" if i % 1000 == 0 else "INFO"
                status = 500 if i % 7 == 0 else 200
                line = (
                    f"line {i} {level} request handled path=/items/{i} status={status} ms={i % 97}"
                )
                streams.setdefault(stream, []).append([str(start + i * STEP_NS), line])
            body = {
                "streams": [
                    {"stream": {**labels, "stream": s}, "values": v} for s, v in streams.items()
                ]
            }
            client.post(url, json=body).raise_for_status()


def p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--others", type=int, default=1_000_000, help="lines of other deployments")
    p.add_argument("--runs", type=int, default=10)
    args = p.parse_args()

    with ExitStack() as exits:
        tmp = bench_dir(exits)
        # The store alone: lines are pushed to it, no collector reads runners here.
        stack = LogStack(plan(args.log_store, tmp))
        exits.callback(stack.stop)
        stack.start_store()
        settings = bench_settings(tmp, args.log_store, stack.store_url)
        queue = DeployQueue(MemoryHuey(immediate=False))
        slug, token, labels = seed(settings, queue)
        end_ns = time.time_ns()
        began = time.perf_counter()
        url = push_url(args.log_store, stack.store_url)
        ingest(url, labels, args.lines, end_ns)
        others = 0
        while others < args.others:
            chunk = min(1_000_000, args.others - others)
            ingest(url, {**labels, "deployment_id": f"other-{others}"}, chunk, end_ns)
            others += chunk
        if args.log_store == "victorialogs":
            httpx.get(f"{stack.store_url}/internal/force_flush", timeout=60)
        print(f"ingested {args.lines + args.others} lines in {time.perf_counter() - began:.1f}s")

        client = exits.enter_context(TestClient(create_app(settings, queue=queue)))
        api = f"/api/v1/projects/{slug}/logs"
        auth = {"Authorization": f"Bearer {token}"}
        dep = labels["deployment_id"]
        start_ns = end_ns - args.lines * STEP_NS - SECOND_NS
        mid_ns = end_ns - args.lines * STEP_NS // 2
        base = {"deployment": dep, "since": str(start_ns), "until": str(end_ns + 1)}
        cases = {
            "first page": ({**base, "limit": "100"}, dict(limit=100)),
            "deep page": (
                {**base, "until": str(mid_ns), "limit": "100"},
                dict(limit=100, end=mid_ns),
            ),
            "search": (
                {**base, "q": "items/4242 ", "limit": "100"},
                dict(limit=100, search="items/4242 "),
            ),
            "regex": (
                {**base, "q": "status=5\\d\\d ms=9[0-6]", "regex": "1", "limit": "100"},
                dict(limit=100, search="status=5\\d\\d ms=9[0-6]", search_mode="regex"),
            ),
        }
        rows = []

        async def direct(query: LogQuery, *, volume: bool = False) -> float:
            async with open_http_client(settings) as http:
                store = log_store(settings, http)
                began = time.perf_counter()
                if volume:
                    await volume_bars(store, query)
                else:
                    span = Span(query.direction, query.start_ns, query.end_ns, query.limit)
                    # The one request the app's first page sends.
                    await store.fetch(store.compile(query), span)
                return time.perf_counter() - began

        for name, (params, fields) in cases.items():
            through, straight = [], []
            for _ in range(args.runs):
                began = time.perf_counter()
                response = client.get(api, params=params, headers=auth)
                through.append(time.perf_counter() - began)
                response.raise_for_status()
                rest = {k: v for k, v in fields.items() if k != "end"}
                query = LogQuery(
                    project_id=labels["project_id"],
                    deployment_id=dep,
                    start=start_ns,
                    end=fields.get("end", end_ns + 1),
                    **rest,
                )
                straight.append(asyncio.run(direct(query)))
            rows.append(_row(name, through, straight, len(response.json()["items"])))

        # The histogram: the Logs page's 60 bars (the store's hits query) vs that query alone.
        from tests.fixtures.web import LiveServer, log_in

        log_in(client, EMAIL, PASSWORD)
        through, straight = [], []
        query = LogQuery(
            project_id=labels["project_id"], deployment_id=dep, start=start_ns, end=end_ns + 1
        )
        for _ in range(args.runs):
            began = time.perf_counter()
            page = client.get(f"/projects/{slug}/logs", params={**base})
            through.append(time.perf_counter() - began)
            page.raise_for_status()
            straight.append(asyncio.run(direct(query, volume=True)))
        rows.append(_row("logs page (histogram + 200 lines)", through, straight, 200))

        # The full download, streamed; this process's RSS sampled meanwhile.
        peak = [rss_mib(_pid())]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                peak.append(rss_mib(_pid()))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        began = time.perf_counter()
        lines = 0
        # Through uvicorn, as a browser downloads: TestClient's in-process transport
        # hands each streamed chunk across threads and would measure itself instead.
        cookies = dict(client.cookies)
        with (
            LiveServer(client.app) as url,  # type: ignore[arg-type]
            httpx.stream(
                "GET",
                f"{url}/projects/{slug}/logs/download",
                params={**base, "format": "ndjson"},
                cookies=cookies,
                timeout=600,
            ) as r,
        ):
            r.raise_for_status()
            for _ in r.iter_lines():
                lines += 1
        took = time.perf_counter() - began
        stop.set()
        download = {
            "lines": lines,
            "seconds": round(took, 1),
            "lines_per_s": round(lines / took),
            "rss_start_mib": round(peak[0], 1),
            "rss_peak_mib": round(max(peak), 1),
        }
    print(table(rows, ["query", "items", "app_p50_ms", "app_p95_ms", "direct_p50_ms", "ratio"]))
    print(f"full download: {download}")
    path = save(
        "queries", args.log_store, rows, download=download, lines=args.lines, others=args.others
    )
    plot(rows, args.log_store, path.with_suffix(".png"))
    print(f"wrote {path}")
    return 0


def _pid() -> int:
    import os

    return os.getpid()


def _row(name: str, through: list[float], straight: list[float], items: int) -> dict:
    warm_app, warm_direct = through[1:] or through, straight[1:] or straight
    app_p95 = sorted(warm_app)[round(0.95 * (len(warm_app) - 1))] * 1000
    return {
        "query": name,
        "items": items,
        "app_cold_ms": round(through[0] * 1000, 1),
        "app_p50_ms": round(p50(warm_app), 1),
        "app_p95_ms": round(app_p95, 1),
        "direct_p50_ms": round(p50(warm_direct), 1),
        "ratio": round(p50(warm_app) / max(p50(warm_direct), 1e-3), 2),
    }


def plot(rows: list[dict], backend: str, path: Path) -> None:
    with chart(path, figsize=(7, 4)) as ax:
        names = [r["query"] for r in rows]
        xs = range(len(rows))
        ax.bar(
            [x - 0.2 for x in xs],
            [r["app_p50_ms"] for r in rows],
            0.4,
            label="through the app (p50)",
        )
        ax.bar(
            [x + 0.2 for x in xs],
            [r["direct_p50_ms"] for r in rows],
            0.4,
            label="store directly (p50)",
        )
        ax.set_xticks(list(xs), names, rotation=15, fontsize=7)
        ax.set_ylabel("ms")
        ax.set_title(f"Queries over one deployment's lines ({backend})")
        ax.legend()


if __name__ == "__main__":
    sys.exit(main())
