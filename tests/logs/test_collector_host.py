"""The collector's host (swarm mode): a collector given DEVPUSH_COLLECTOR_HOST stores each
runner line with that ``host``, a stream field; one without stores lines as on one server.

Two real collectors (Docker/otelcol/config.yaml) over recorded json-file logs, one real
VictoriaLogs, all on loopback; read back through the app's store.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from devpush.core.config import Settings
from devpush.core.labels import HOST_LABEL
from devpush.logs.query import LogQuery
from devpush.services.victorialogs import VictoriaLogsStore
from devpush_dev.ports import free_port
from devpush_dev.victorialogs import VictoriaLogs, start_victorialogs
from tests.logs.recorded import attrs, start_collector_on, write_container_log


@pytest.fixture
def store_and_hosts(tmp_path: Path) -> Iterator[tuple[VictoriaLogs, Path, Path]]:
    """VictoriaLogs, and the containers dirs of a collector for host "node-a" and of one
    with no host (one server)."""
    with ExitStack() as running:  # stopped in reverse: the collectors, then the store
        store = running.enter_context(
            start_victorialogs(data_dir=tmp_path / "vl", http_port=free_port())
        )
        dirs = []
        for name, host in (("a", "node-a"), ("single", None)):
            containers = tmp_path / name / "containers"
            containers.mkdir(parents=True)
            dirs.append(containers)
            running.enter_context(
                start_collector_on(
                    containers,
                    state_dir=tmp_path / name / "otelcol",
                    victorialogs_url=store.url,
                    host=host,
                )
            )
        yield store, dirs[0], dirs[1]


def test_a_collector_with_a_host_names_it_and_one_without_does_not(
    store_and_hosts: tuple[VictoriaLogs, Path, Path],
) -> None:
    store, host_a, single = store_and_hosts
    labels = attrs(project_id="p1", environment_id="e1", branch="main", deployment_id="d1")
    write_container_log(host_a, [("from node a", labels)])
    write_container_log(single, [("from the one server", labels)])

    rows: list[dict[str, str]] = []
    deadline = time.monotonic() + 30
    while len(rows) < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
        answer = httpx.get(f"{store.url}/select/logsql/query", params={"query": "*"})
        rows = [json.loads(line) for line in answer.text.splitlines() if line.strip()]
    by_line = {row["_msg"]: row for row in rows}
    assert set(by_line) == {"from node a", "from the one server"}, rows
    assert by_line["from node a"][HOST_LABEL] == "node-a"
    assert f'{HOST_LABEL}="node-a"' in by_line["from node a"]["_stream"]
    assert HOST_LABEL not in by_line["from the one server"]
    assert "host" not in by_line["from the one server"]["_stream"]

    # The app's store reads it back as the entry's host.
    async def entries() -> dict[str, str | None]:
        async with httpx.AsyncClient(base_url=store.url) as http:
            vl = VictoriaLogsStore(http, settings=Settings())
            end = time.time_ns() + 10**9
            page = await vl.page(LogQuery(project_id="p1", start=end - 3600 * 10**9, end=end))
        return {item.entry.line: item.entry.host for item in page.items}

    assert asyncio.run(entries()) == {"from node a": "node-a", "from the one server": None}
