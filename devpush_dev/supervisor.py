"""supervisord for the local run: one config from the starters' argv and env, restarts, reports.

supervisord restarts a program that exits (``autorestart``) but knows nothing of
readiness: the pipeline waits for each part with the checks it always used. Its main
log (``supervisord.log``) says when a program exited unexpectedly and when it was spawned
again; :class:`RestartReporter` prints one line per restart from it.
"""

from __future__ import annotations

import ctypes
import shlex
import signal
import subprocess
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from supervisor.xmlrpc import SupervisorTransport  # type: ignore[import-untyped]

from devpush.services.supervisor import describe, parse_restarts
from devpush_dev.processes import ProcessError, Stoppable

CONFIG: Final = "supervisord.conf"
MAIN_LOG: Final = "supervisord.log"
SOCKET: Final = "supervisor.sock"
#: A program up this long counts as started; a crash after it is restarted at once.
START_SECONDS: Final = 1
#: prctl(2)'s option: the signal a child gets when its parent dies.
PR_SET_PDEATHSIG: Final = 1


@dataclass(frozen=True)
class Program:
    """One supervised process; ``priority`` orders the start (low first) and the stop."""

    name: str
    argv: Sequence[str]
    log_path: Path
    priority: int
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    autostart: bool = True


def _value(text: str) -> str:
    # supervisord expands %(name)s in its config: a literal % is written %%.
    return text.replace("%", "%%")


def _environment(env: Mapping[str, str]) -> str:
    return ",".join(f'{key}="{_value(value)}"' for key, value in env.items())


def render_program(program: Program) -> str:
    lines = [
        f"[program:{program.name}]",
        f"command={_value(shlex.join(program.argv))}",
        f"priority={program.priority}",
        f"autostart={str(program.autostart).lower()}",
        "autorestart=true",
        f"startsecs={START_SECONDS}",
        # Never give up on a part of the run: it retries until stopped.
        "startretries=1000",
        # The whole process group: a worker's children go with it.
        "stopasgroup=true",
        "killasgroup=true",
        "stopwaitsecs=15",
        f"stdout_logfile={_value(str(program.log_path))}",
        "stdout_logfile_maxbytes=0",
        "redirect_stderr=true",
    ]
    if program.cwd is not None:
        lines.append(f"directory={_value(str(program.cwd))}")
    if program.env:
        lines.append(f"environment={_environment(program.env)}")
    return "\n".join(lines) + "\n"


def socket_url(state: Path) -> str:
    return f"unix://{state / SOCKET}"


def render_config(programs: Sequence[Program], *, state: Path) -> str:
    """supervisord.conf: in the foreground, its socket and logs under ``state``."""
    head = f"""\
; Written by devpush_dev/supervisor.py for one local run; rewritten on the next.
[supervisord]
nodaemon=true
silent=true
logfile={_value(str(state / MAIN_LOG))}
logfile_maxbytes=0
pidfile={_value(str(state / "supervisord.pid"))}
childlogdir={_value(str(state))}

[unix_http_server]
file={_value(str(state / SOCKET))}
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl={_value(socket_url(state))}
"""
    return "\n".join([head, *(render_program(p) for p in programs)])


def _stop_with_parent() -> None:
    """In the child: SIGTERM when the process that started it dies, even by SIGKILL, so a
    killed pipeline leaves no supervisord (and no programs) behind. Linux only."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def rpc(state: Path) -> Any:
    """supervisord's XML-RPC ``supervisor`` namespace, over its unix socket."""
    transport = SupervisorTransport(None, None, socket_url(state))
    return xmlrpc.client.ServerProxy("http://localhost", transport=transport).supervisor


class Supervisord(Stoppable):
    """A supervisord in the foreground, a child of this process."""

    def __init__(self, state: Path, programs: Sequence[Program]) -> None:
        self.state = state
        self.programs = {p.name: p for p in programs}
        config = state / CONFIG
        config.write_text(render_config(programs, state=state))
        config.chmod(0o600)
        (state / SOCKET).unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_stop_with_parent,
        )
        try:
            self._wait_answering()
        except BaseException:
            self.stop()
            raise

    @property
    def api(self) -> Any:
        # A new connection per call: one that failed midway cannot send again.
        return rpc(self.state)

    def _wait_answering(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise ProcessError(f"supervisord exited with code {self.process.returncode}")
            try:
                if self.api.getState()["statename"] == "RUNNING":
                    return
            except (OSError, xmlrpc.client.Error):
                pass
            if time.monotonic() > deadline:
                raise ProcessError(f"supervisord did not answer on {self.state / SOCKET}")
            time.sleep(0.1)

    def info(self, name: str) -> dict[str, Any]:
        info: dict[str, Any] = self.api.getProcessInfo(name)
        return info

    def start(self, name: str) -> None:
        self.api.startProcess(name, False)

    def wait_ready(self, name: str, check: Callable[[], bool], *, timeout: float) -> None:
        """Until ``check()`` holds; fails when ``name`` exited before it was ready (as the
        starters always did: a broken part fails the start with its log), or in time."""
        deadline = time.monotonic() + timeout
        while not check():
            state = self.info(name)["statename"]
            if state in ("BACKOFF", "EXITED", "FATAL", "STOPPED") or time.monotonic() > deadline:
                raise ProcessError(
                    f"{name} not ready within {timeout:.0f}s (state {state}); "
                    f"log {self.programs[name].log_path}:\n{self.log_tail(name)}"
                )
            time.sleep(0.1)

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            text = self.programs[name].log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log file)"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM: supervisord stops its programs, highest priority first, then exits."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


class RestartReporter(threading.Thread):
    """Prints ``collector exited unexpectedly (signal 9); restarted in 0.1 s`` per restart,
    read from supervisord's main log as it grows."""

    def __init__(self, log_path: Path, print_line: Callable[[str], None]) -> None:
        super().__init__(name="restart-reporter", daemon=True)
        self.log_path = log_path
        self.print_line = print_line
        self.stopped = threading.Event()

    def run(self) -> None:
        # Only what this run logs: the file keeps earlier runs' lines.
        start = self.log_path.stat().st_size if self.log_path.exists() else 0
        reported: set[tuple[str, object]] = set()
        while not self.stopped.wait(0.2):
            try:
                with self.log_path.open("rb") as log:
                    log.seek(start)
                    text = log.read().decode(errors="replace")
            except FileNotFoundError:
                continue
            for restart in parse_restarts(text):
                key = (restart.name, restart.exited_at)
                if restart.restarted_at is not None and key not in reported:
                    reported.add(key)
                    self.print_line(describe(restart))
