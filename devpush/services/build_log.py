"""A Dockerfile build's log container: the builder's lines, live, as a container's output.

A build through the engine's builder has no container, so no json-file log the collector
could tail. The worker starts a small container of the project's runner image, labelled
as the deployment's runner (the collector ships its lines, the cleanup removes it), that
runs ``cat`` on its open stdin. The worker writes each builder line to that stdin as the
builder yields it: the lines reach the log views, the store and the drains while the
build runs. At the end the worker copies the build's exit code in and closes stdin; the
container exits with that code, and a failed build's record reads its last lines.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import tarfile
from pathlib import PurePosixPath
from typing import Any

import docker
from docker.models.containers import Container

from devpush.core.config import Settings
from devpush.services.runner import RunnerSpec, runner_role_labels, settings_log_config

log = logging.getLogger(__name__)

#: Where the worker puts the build's exit code before it closes the container's stdin.
EXIT_CODE_PATH = PurePosixPath("/devpush/build-exit-code")

#: The container's command: print stdin, then exit with the build's code (0 if none).
COMMAND = [
    "/bin/sh",
    "-c",
    f'cat; code=$(cat {EXIT_CODE_PATH} 2>/dev/null); exit "${{code:-0}}"',
]

#: How long the worker waits for the container to print its last line and exit.
EXIT_SECONDS = 30

#: The container's memory: it only copies lines.
MEMORY = "64m"


def container_name(deployment_id: str) -> str:
    return f"devpush-build-log-{deployment_id}"


def container_spec(spec: RunnerSpec, *, settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``client.containers.create`` for the build log container of
    ``spec``'s deployment, a container of ``spec``'s image (the project's runner image).

    The runner role and the four labels: the collector ships it as the deployment's, the
    cleanup removes it once stopped, like a runner. No network: it only prints.
    """
    labels = runner_role_labels(spec)
    return {
        "image": spec.image,
        "name": container_name(spec.deployment_id),
        "command": COMMAND,
        "labels": labels,
        "log_config": settings_log_config(settings),
        # stdin open and attached once: closing the worker's attach closes cat's stdin.
        "stdin_open": True,
        "network_mode": "none",
        "mem_limit": MEMORY,
        "security_opt": ["no-new-privileges"],
    }


def exit_code_archive(code: int) -> bytes:
    """A tar of the exit code file, with its folder."""
    buffer = io.BytesIO()
    data = f"{code}\n".encode()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(EXIT_CODE_PATH.parent.name)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        entry = tarfile.TarInfo(f"{EXIT_CODE_PATH.parent.name}/{EXIT_CODE_PATH.name}")
        entry.size, entry.mode = len(data), 0o644
        tar.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def _raw_socket(attached: Any) -> socket.socket:
    """The socket under the SDK's attach answer (a ``SocketIO`` or the socket itself)."""
    raw = getattr(attached, "_sock", attached)
    assert isinstance(raw, socket.socket)
    return raw


class BuildLog:
    """A started log container and the worker's end of its stdin.

    Writing never raises: a build does not fail because its log could not be written
    (the worker logs it once, and the lines stay in the build's result).
    """

    def __init__(self, client: docker.DockerClient, container: Container) -> None:
        self.container = container
        self._socket: socket.socket | None = None
        self._attached: Any = None
        try:
            container.start()
            self._attached = client.api.attach_socket(
                container.id, params={"stdin": 1, "stream": 1}
            )
            self._socket = _raw_socket(self._attached)
        except (docker.errors.APIError, OSError) as exc:
            log.warning("build log %s: cannot attach: %s", container.name, exc)

    def write(self, line: str) -> None:
        if self._socket is None:
            return
        try:
            self._socket.sendall(line.encode("utf-8", "replace") + b"\n")
        except OSError as exc:
            log.warning("build log %s: cannot write: %s", self.container.name, exc)
            self._close_socket()

    def finish(self, exit_code: int) -> None:
        """Copy the exit code in, close stdin, and wait for the container to exit."""
        with contextlib.suppress(docker.errors.APIError):
            self.container.put_archive("/", exit_code_archive(exit_code))
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_WR)
        try:
            self.container.wait(timeout=EXIT_SECONDS)
        except Exception as exc:  # requests' timeout or a Docker error: stop it instead
            log.warning("build log %s did not exit: %s", self.container.name, exc)
            with contextlib.suppress(docker.errors.APIError):
                self.container.stop(timeout=1)
        self._close_socket()

    def _close_socket(self) -> None:
        for closing in (self._socket, self._attached):
            if closing is not None:
                with contextlib.suppress(OSError):
                    closing.close()
        self._socket = self._attached = None
