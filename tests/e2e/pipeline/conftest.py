"""The real pipeline on loopback: socket proxy (Alloy's door), Loki and Alloy.

Collected only with ``pytest --pipeline`` (tests/conftest.py); a missing Loki or Alloy
binary then fails the run with the lookup error from devpush_dev/binaries.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devpush.core.config import Settings
from devpush.logs.query import go_quote
from devpush_dev.alloy import Alloy, start_alloy
from devpush_dev.binaries import BinaryNotFoundError
from devpush_dev.loki import Loki, start_loki
from devpush_dev.ports import free_port
from devpush_dev.socket_proxy import (
    ALLOY_DOOR,
    SocketProxy,
    socket_path_from_docker_host,
    start_socket_proxy,
)

pytestmark = pytest.mark.docker


@dataclass(frozen=True)
class Entry:
    labels: dict[str, str]
    ts_ns: int
    line: str


class LokiQuery:
    """Loki's HTTP query API (GET /loki/api/v1/query_range), oldest entry first."""

    def __init__(self, url: str) -> None:
        self.url = url

    def entries(self, deployment_id: str, *, since_ns: int, limit: int = 5000) -> list[Entry]:
        response = httpx.get(
            f"{self.url}/loki/api/v1/query_range",
            params={
                "query": f"{{deployment_id={go_quote(deployment_id)}}}",
                "start": str(since_ns),
                "end": str(time.time_ns() + 60_000_000_000),
                "limit": str(limit),
                "direction": "forward",
            },
            timeout=10,
        )
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        found = [
            Entry(labels=stream["stream"], ts_ns=int(ts), line=line)
            for stream in body["data"]["result"]
            for ts, line in stream["values"]
        ]
        return sorted(found, key=lambda e: e.ts_ns)

    def wait_for(
        self, deployment_id: str, count: int, *, since_ns: int, timeout: float = 30.0
    ) -> list[Entry]:
        """Poll until ``count`` entries are there, then once more to catch late duplicates."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.entries(deployment_id, since_ns=since_ns)
            if len(found) >= count:
                # A quiet period, not a wait on a condition: a duplicate would land
                # within refresh_interval + batch_wait, and its absence can't be awaited.
                time.sleep(2.5)
                return self.entries(deployment_id, since_ns=since_ns)
            if time.monotonic() > deadline:
                return found
            time.sleep(0.2)


class AlloyRig:
    """Alloy on a fixed state dir, so tests can stop, kill and restart it."""

    def __init__(self, *, state_dir: Path, docker_host: str, loki_push_url: str) -> None:
        self.state_dir = state_dir
        self.docker_host = docker_host
        self.loki_push_url = loki_push_url
        self.current: Alloy | None = None

    def start(self) -> Alloy:
        assert self.current is None or not self.current.child.running()
        self.current = start_alloy(
            state_dir=self.state_dir,
            http_port=free_port(),
            docker_host=self.docker_host,
            loki_push_url=self.loki_push_url,
        )
        return self.current

    def stop(self) -> int:
        assert self.current is not None
        return self.current.child.stop()

    def kill(self) -> int:
        assert self.current is not None
        return self.current.child.kill()

    def ensure_running(self) -> None:
        if self.current is None or not self.current.child.running():
            self.start()


def _required(start, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return start(*args, **kwargs)
    except BinaryNotFoundError as exc:
        missing = str(exc)
    pytest.fail(missing, pytrace=False)


@pytest.fixture(scope="session")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline")


@pytest.fixture(scope="session")
def alloy_door(pipeline_dir: Path) -> Iterator[SocketProxy]:
    proxy = start_socket_proxy(
        env_file=ALLOY_DOOR,
        port=free_port(),
        state_dir=pipeline_dir / "proxy",
        socket_path=socket_path_from_docker_host(Settings().docker_host),
    )
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def loki_server(pipeline_dir: Path) -> Iterator[Loki]:
    server = _required(
        start_loki, data_dir=pipeline_dir / "loki", http_port=free_port(), grpc_port=free_port()
    )
    yield server
    server.child.stop()


@pytest.fixture(scope="session")
def alloy_rig(pipeline_dir: Path, alloy_door: SocketProxy, loki_server: Loki) -> Iterator[AlloyRig]:
    rig = AlloyRig(
        state_dir=pipeline_dir / "alloy",
        docker_host=alloy_door.url,
        loki_push_url=loki_server.push_url,
    )
    _required(rig.start)
    yield rig
    if rig.current is not None:
        rig.current.child.stop()


@pytest.fixture
def alloy_running(alloy_rig: AlloyRig) -> Iterator[AlloyRig]:
    """Alloy up at the start and at the end of the test (tests may stop or kill it)."""
    alloy_rig.ensure_running()
    yield alloy_rig
    alloy_rig.ensure_running()


@pytest.fixture(scope="session")
def loki_query(loki_server: Loki) -> LokiQuery:
    return LokiQuery(loki_server.url)
