"""Child processes with a log file, an HTTP readiness wait and a graceful stop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import httpx


class ProcessError(RuntimeError):
    """A child process failed to start, died, or never became ready."""


class Stoppable(ABC):
    """A running thing that a ``with`` block stops on the way out, pass or fail."""

    @abstractmethod
    def stop(self) -> object:
        """Stop what it started."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass
class Child(Stoppable):
    """A running child process whose stdout and stderr go to ``log_path``."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log file)"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def stop(self, *, timeout: float = 15.0) -> int:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. Returns the exit code."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def kill(self) -> int:
        """SIGKILL now: a crash, with no chance to flush state."""
        if self.running():
            self.process.kill()
        return self.process.wait()


@dataclass
class ChildHandle(Stoppable):
    """The handle a starter returns over the one child it started; stopping it stops that."""

    child: Child

    def stop(self) -> None:
        self.child.stop()


@dataclass
class LoopbackServer(ChildHandle):
    """A started child that listens on a loopback port."""

    #: How a client names it: ``url`` is ``<scheme>://127.0.0.1:<port>``.
    scheme: ClassVar[str] = "http"

    port: int

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"


def stop_all(children: Sequence[Child], *, timeout: float = 15.0) -> None:
    """Stop ``children`` as :meth:`Child.stop` does, signalling all before waiting for any:
    their shutdowns overlap (a teardown of several processes waits for the slowest only)."""
    running = [child for child in children if child.running()]
    for child in running:
        child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in running:
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
    for child in children:
        child.process.wait()


def start(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Child:
    """Start ``argv`` with its output appended to ``log_path`` (kept across restarts)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n==> {' '.join(argv)}\n".encode())
        log.flush()
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                # Own session: a Ctrl-C in the test runner reaches it only through stop().
                start_new_session=True,
            )
        except OSError as exc:
            raise ProcessError(f"{name}: cannot start {argv[0]}: {exc}") from exc
    return Child(name=name, process=process, log_path=log_path)


def wait_ready(child: Child, url: str, *, timeout: float = 30.0, interval: float = 0.2) -> None:
    """Poll ``url`` until it answers 200; fail early if the child exits.

    The error names the child, the URL, the last answer and the tail of the child's log.
    """
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(timeout=2.0) as client:
        while True:
            if not child.running():
                raise ProcessError(
                    f"{child.name} exited with code {child.process.returncode} before {url} "
                    f"answered; log {child.log_path}:\n{child.log_tail()}"
                )
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:200]!r}"
            if time.monotonic() >= deadline:
                child.stop()
                raise ProcessError(
                    f"{child.name} not ready at {url} within {timeout:.0f}s ({last}); "
                    f"log {child.log_path}:\n{child.log_tail()}"
                )
            time.sleep(interval)


def start_ready(
    name: str,
    argv: Sequence[str],
    *,
    state_dir: Path,
    log_name: str,
    ready_url: str,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Child:
    """Make ``state_dir``, start ``argv`` logging to ``state_dir / log_name``, wait for 200."""
    state_dir.mkdir(parents=True, exist_ok=True)
    child = start(name, argv, log_path=state_dir / log_name, env=env, cwd=cwd)
    wait_ready(child, ready_url, timeout=timeout)
    return child


def on_path(program: str) -> str:
    """The full path of a Debian-packaged ``program``, or a ProcessError naming the fix."""
    found = shutil.which(program)
    if found is None:
        raise ProcessError(
            f"{program} not found on PATH: run scripts/dev/test-deps.sh "
            f"(installs Debian's {program})"
        )
    return found


@dataclass(frozen=True)
class ProcessSpec:
    """A child not started yet: its argv and env, where it logs, how it says it is ready.

    The starters in devpush_dev build one; :meth:`start` runs it here (tests, benchmarks)
    and the local run hands the same to supervisord (``devpush_dev/pipeline.py``).
    """

    name: str
    argv: Sequence[str]
    #: Its working directory; its log file is in there too.
    state_dir: Path
    log_name: str
    ready_url: str
    timeout: float = 60.0
    env: Mapping[str, str] = field(default_factory=dict)
    #: Where it runs when not in ``state_dir`` (the app's code reads paths from the repository).
    cwd: Path | None = None

    @property
    def log_path(self) -> Path:
        return self.state_dir / self.log_name

    def start(self) -> Child:
        """Start it and wait until ``ready_url`` answers 200."""
        return start_ready(
            self.name,
            self.argv,
            state_dir=self.state_dir,
            log_name=self.log_name,
            ready_url=self.ready_url,
            timeout=self.timeout,
            env=self.env,
            cwd=self.cwd or self.state_dir,
        )
