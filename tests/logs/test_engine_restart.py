"""The Docker engine restarted while a runner with a restart policy runs.

The real engine the tests use (the dockerd answering at ``Settings().docker_host``,
started by scripts/dev/test-deps.sh) gets SIGTERM, is waited for, and is started again
the same way: its own argv, environment, working directory and log file, in a session
of its own (``setsid``). Live restore is off, so the runner stops with the engine and
the ``unless-stopped`` policy starts it again: the same container, the same labels,
the same json-file log, appended to.

Ground truth is what Docker wrote: the container's json-file log (and its rotated
files), read from its LogPath. Every runner line there must show in the store exactly
once, with the deployment's labels, from both boots.

The engine is answering again when the test ends, pass or fail (``finally``): the
collector and the store are processes, not containers, so they ride it out, and the
tests after this one find the engine as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from devpush.core.config import Settings
from devpush.core.labels import LOG_LABELS
from devpush.services.runner import runner_log_config
from devpush_dev.runners import BUSYBOX_IMAGE
from tests.fixtures.logstack import LogStack
from tests.fixtures.numbered_lines import ids, labels_for, shown

pytestmark = pytest.mark.docker

#: dockerd's socket when neither -H nor --host is given.
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
#: Where test-deps.sh sends dockerd's output; used when the running one's is not a file.
DOCKERD_LOG = Path("/var/log/devpush/dockerd.log")
ENGINE_TIMEOUT = 60.0

#: Numbered lines, 50 a second, until stopped; the boot number lives in the container's
#: own filesystem, which survives a restart. SIGTERM ends it at once (busybox sh runs
#: the trap after the current 20 ms sleep), so the engine stops in about a second.
WRITER = (
    "trap 'exit 0' TERM; "
    "n=$(( $(cat /boot 2>/dev/null || echo 0) + 1 )); echo $n > /boot; "
    'i=0; while true; do echo "boot $n seq $i"; i=$((i+1)); sleep 0.02; done'
)


@dataclass(frozen=True)
class Engine:
    """How the running dockerd was started: enough to start it again the same way."""

    pid: int
    argv: list[str]
    env: dict[str, str]
    cwd: str
    log: Path


def _hosts(argv: list[str]) -> list[str]:
    hosts: list[str] = []
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-H", "--host"):
            hosts.append(next(args, ""))
        elif arg.startswith("--host="):
            hosts.append(arg.removeprefix("--host="))
        elif arg.startswith("-H") and len(arg) > 2:
            hosts.append(arg[2:].lstrip("="))
    return hosts or [DEFAULT_DOCKER_HOST]


def _normal(host: str) -> str:
    return host.replace("unix:///", "unix:/").rstrip("/")


def find_engine(docker_host: str) -> Engine:
    """The dockerd process that serves ``docker_host`` (from /proc, by its -H flags)."""
    found: list[Engine] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != "dockerd":
                continue
            argv = (proc / "cmdline").read_bytes().rstrip(b"\0").decode().split("\0")
            raw_env = (proc / "environ").read_bytes().rstrip(b"\0").decode().split("\0")
            cwd = os.readlink(proc / "cwd")
            out = Path(os.readlink(proc / "fd" / "1"))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if _normal(docker_host) not in {_normal(h) for h in _hosts(argv)}:
            continue
        env = dict(item.split("=", 1) for item in raw_env if "=" in item)
        log = out if out.is_file() else DOCKERD_LOG
        found.append(Engine(pid=int(proc.name), argv=argv, env=env, cwd=cwd, log=log))
    if len(found) != 1:
        pytest.fail(
            f"{len(found)} dockerd processes serve {docker_host} (need exactly one to "
            "restart it; run scripts/dev/test-deps.sh as root)",
            pytrace=False,
        )
    return found[0]


def answering(client: docker.DockerClient) -> bool:
    try:
        return bool(client.ping())
    except (docker.errors.DockerException, OSError):
        return False


def wait_answering(client: docker.DockerClient, engine: Engine, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not answering(client):
        if time.monotonic() > deadline:
            tail = subprocess.run(
                ["tail", "-n", "20", str(engine.log)], capture_output=True, text=True, check=False
            ).stdout
            pytest.fail(f"dockerd did not answer within {timeout:.0f}s; {engine.log}:\n{tail}")
        time.sleep(0.2)


def start_engine(engine: Engine) -> None:
    """Start dockerd as test-deps.sh does: setsid, output appended to its log file."""
    engine.log.parent.mkdir(parents=True, exist_ok=True)
    with engine.log.open("ab") as log:
        subprocess.Popen(
            engine.argv,
            env=engine.env,
            cwd=engine.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


def stop_engine(engine: Engine, timeout: float) -> float:
    """SIGTERM, then wait until the process is gone; the seconds it took."""
    started = time.monotonic()
    os.kill(engine.pid, signal.SIGTERM)
    while Path(f"/proc/{engine.pid}").exists():
        # A zombie (its parent has not reaped it yet) has stopped serving: done.
        with contextlib.suppress(FileNotFoundError):
            if Path(f"/proc/{engine.pid}/stat").read_text().split(") ")[1].startswith("Z"):
                break
        if time.monotonic() - started > timeout:
            pytest.fail(f"dockerd (pid {engine.pid}) still running {timeout:.0f}s after SIGTERM")
        time.sleep(0.1)
    return time.monotonic() - started


@contextlib.contextmanager
def engine_restarted_after(client: docker.DockerClient) -> Iterator[Engine]:
    """Yields the engine; on leaving, the engine answers (started again if it does not)."""
    engine = find_engine(Settings().docker_host)
    try:
        yield engine
    finally:
        if not answering(client):
            if not Path(f"/proc/{engine.pid}").exists():
                start_engine(engine)
            wait_answering(client, engine, ENGINE_TIMEOUT)


def written_by_docker(container: Container) -> list[tuple[str, dict[str, str]]]:
    """(text, attrs) of every line in the container's json-file log, rotated files first."""
    container.reload()
    path = Path(container.attrs["LogPath"])
    rotated = sorted(
        path.parent.glob(f"{path.name}.*"), key=lambda p: int(p.suffix[1:]), reverse=True
    )
    lines: list[tuple[str, dict[str, str]]] = []
    for file in [*rotated, path]:
        for raw in file.read_text(encoding="utf-8").splitlines():
            record = json.loads(raw)
            lines.append((record["log"].removesuffix("\n"), record.get("attrs", {})))
    return lines


def boots(lines: list[str]) -> set[int]:
    return {int(line.split()[1]) for line in lines if line.startswith("boot ")}


def test_engine_restart_keeps_lines_flowing_under_the_same_labels(
    running_log_stack: LogStack, docker_client: docker.DockerClient
) -> None:
    project_id, deployment_id = ids()
    labels = labels_for(project_id, deployment_id)
    settings = Settings()
    container = docker_client.containers.run(
        BUSYBOX_IMAGE,
        ["sh", "-c", WRITER],
        labels=labels,
        log_config=runner_log_config(
            max_size=settings.runner_log_max_size, max_file=settings.runner_log_max_file
        ),
        restart_policy={"Name": "unless-stopped"},
        stop_signal="SIGTERM",
        detach=True,
    )
    container_id = container.id
    try:
        with engine_restarted_after(docker_client) as engine:
            time.sleep(3)
            assert boots([item.entry.line for item in shown_now(running_log_stack, labels)]), (
                "no line of the runner's first boot reached the store in 3 s"
            )
            stopped_in = stop_engine(engine, timeout=30)
            start_engine(engine)
            wait_answering(docker_client, engine, ENGINE_TIMEOUT)
            restarted = docker_client.containers.get(container_id)
            deadline = time.monotonic() + 30
            while restarted.status != "running":
                if time.monotonic() > deadline:
                    pytest.fail(f"the runner was not started again: {restarted.status}")
                time.sleep(0.2)
                restarted.reload()
            print(f"\nengine stopped in {stopped_in:.1f}s; the runner runs again")
            time.sleep(3)
            restarted.stop(timeout=5)
        truth = written_by_docker(restarted)
        runner_lines = [text for text, _ in truth if text.startswith("boot ")]
        assert boots(runner_lines) == {1, 2}, f"boots in the json-file log: {boots(runner_lines)}"
        assert all(attrs == labels for _, attrs in truth), "Docker wrote other attrs"

        items = wait_for(running_log_stack, labels, Counter(runner_lines), timeout=60)
        stored = Counter(item.entry.line for item in items)
        expected = Counter(runner_lines)
        lost = expected - stored
        doubled = stored - expected
        assert not lost and not doubled, (
            f"of {len(runner_lines)} lines Docker wrote: {sum(lost.values())} lost "
            f"(first {sorted(lost)[:5]}), {sum(doubled.values())} doubled "
            f"(first {sorted(doubled)[:5]})"
        )
        print(f"{len(runner_lines)} lines of boots 1 and 2: all stored once")
        wanted = {name: labels[f"devpush.{name}"] for name in LOG_LABELS}
        other = [item for item in items if {k: item.entry.labels[k] for k in LOG_LABELS} != wanted]
        assert not other, f"{len(other)} lines under other labels, e.g. {other[0].entry}"
    finally:
        with contextlib.suppress(docker.errors.DockerException):
            docker_client.containers.get(container_id).remove(force=True)


def shown_now(stack: LogStack, labels: dict[str, str]) -> list:
    return shown(stack, labels["devpush.project_id"], labels["devpush.deployment_id"])


def wait_for(stack: LogStack, labels: dict[str, str], expected: Counter, *, timeout: float) -> list:
    """The store's lines once every expected line shows, plus 3 s (late doubles would
    show); on timeout, the lines as they are (the caller's assertion says what is lost)."""
    deadline = time.monotonic() + timeout
    while True:
        items = shown_now(stack, labels)
        if not (expected - Counter(item.entry.line for item in items)):
            time.sleep(3)
            return shown_now(stack, labels)
        if time.monotonic() > deadline:
            return items
        time.sleep(0.5)
