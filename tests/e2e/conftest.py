"""End-to-end fixtures: labelled runner containers on the real Docker engine.

A runner here is what the deploy worker starts: the four devpush labels and the
json-file log options from Settings. Every container is removed after its test.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from devpush.core.config import Settings
from devpush.core.labels import runner_labels
from devpush_dev import alloy, processes
from devpush_dev.caddy import Caddy, loopback_settings, start_caddy
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import Resolver
from devpush_dev.runners import Runners
from devpush_dev.socket_proxy import WORKER_DOOR, SocketProxy, start_socket_proxy


@dataclass(frozen=True)
class LogLine:
    stream: str
    time: str
    log: str


def alloy_log_path(container_id: str) -> Path:
    """``__path__`` exactly as config.alloy builds it from the container ID."""
    text = alloy.CONFIG.read_text()
    match = re.search(r'target_label\s*=\s*"__path__"\s*\n\s*replacement\s*=\s*"([^"]+)"', text)
    assert match, "config.alloy has no __path__ rule"
    return Path(match.group(1).replace("$1", container_id))


def json_log_files(container: Container) -> list[Path]:
    """The container's json log files, oldest first (``-json.log.N`` ... ``-json.log``)."""
    current = Path(container.attrs["LogPath"])
    rotated = sorted(
        current.parent.glob(f"{current.name}.*"), key=lambda p: int(p.suffix[1:]), reverse=True
    )
    return [*rotated, current]


def read_json_logs(container: Container) -> list[LogLine]:
    lines = []
    for path in json_log_files(container):
        for raw in path.read_text().splitlines():
            record = json.loads(raw)
            lines.append(LogLine(stream=record["stream"], time=record["time"], log=record["log"]))
    return lines


def wait_for_lines(container: Container, count: int, *, timeout: float = 15.0) -> list[LogLine]:
    """Docker copies output to the file asynchronously: wait until ``count`` lines landed."""
    deadline = time.monotonic() + timeout
    while True:
        lines = read_json_logs(container)
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def numbered_lines_script(count: int, *, pad: int = 0) -> list[str]:
    """Shell that prints ``out <i>`` on stdout and ``err <i>`` on stderr, i = 1..count."""
    filler = "x" * pad
    return [
        "sh",
        "-c",
        f'for i in $(seq 1 {count}); do echo "out $i {filler}"; echo "err $i {filler}" >&2; done',
    ]


RunRunner = Callable[..., Container]


@pytest.fixture
def run_runner(docker_client: docker.DockerClient) -> Iterator[RunRunner]:
    """Start labelled busybox runners; each is removed (even if running) after the test."""
    runners = Runners(docker_client)

    def run(
        command: Sequence[str],
        *,
        settings: Settings | None = None,
        wait: bool = True,
        deployment_id: str | None = None,
    ) -> Container:
        settings = settings or Settings()
        return runners.run(
            command,
            labels=runner_labels(
                project_id="p-e2e",
                environment_id="e-e2e",
                branch="feature/logs",
                deployment_id=deployment_id or f"d-{uuid.uuid4().hex[:12]}",
            ),
            # The deploy worker's log options: json-file with rotation from Settings.
            log_config=docker.types.LogConfig(
                type="json-file",
                config={
                    "max-size": settings.runner_log_max_size,
                    "max-file": str(settings.runner_log_max_file),
                },
            ),
            wait=60 if wait else None,
        )

    try:
        yield run
    finally:
        runners.remove_all()


class JsonLogs:
    """The helpers above, for test modules (conftest cannot be imported under importlib)."""

    alloy_log_path = staticmethod(alloy_log_path)
    files = staticmethod(json_log_files)
    read = staticmethod(read_json_logs)
    wait_for_lines = staticmethod(wait_for_lines)
    numbered_lines_script = staticmethod(numbered_lines_script)


@pytest.fixture
def json_logs() -> type[JsonLogs]:
    return JsonLogs


@pytest.fixture(scope="module")
def caddy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Caddy]:
    """The pinned Caddy on free loopback ports, asking the two route resolvers that a test
    starts on ``settings.proxy_resolver_addrs`` for its database (``start_resolver``).

    One per module: its config depends only on these settings, and each test's resolvers
    answer for that test's database. A module that changes or kills it has its own
    (tests/e2e/test_routing.py)."""
    proxy = start_caddy(settings=loopback_settings(), state_dir=tmp_path_factory.mktemp("caddy"))
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def worker_door(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], SocketProxy]]:
    """The worker's socket-proxy door to a Docker socket, one per socket for the module:
    its rules come from the env file alone, so the workers of a module's tests share it."""
    doors: dict[str, SocketProxy] = {}

    def door(socket_path: str) -> SocketProxy:
        if socket_path not in doors:
            doors[socket_path] = start_socket_proxy(
                env_file=WORKER_DOOR,
                port=free_port(),
                state_dir=tmp_path_factory.mktemp("worker-door"),
                socket_path=socket_path,
            )
        return doors[socket_path]

    yield door
    processes.stop_all([proxy.child for proxy in doors.values()])


@pytest.fixture
def resolvers_to_await() -> list[Resolver]:
    """The route resolvers ``make_stack`` started for a test that starts a worker next: the
    worker's start waits until they answer, so their imports and the worker's overlap."""
    return []
