"""Dockerfile builds: the project's settings and one build through the engine's builder.

The worker sends the checkout (without ``.git``) as the build context to Docker's
``/build`` endpoint (the classic builder: no BuildKit needed), tags the image as the
deployment's kept build, and reads the builder's output line by line, handing each line
on as it comes (the worker writes them to the deployment's build log container,
devpush.services.build_log, so they reach the log store while the build runs).
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import docker
from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Build arguments' names, as Docker's ARG accepts them.
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_BUILD_ARGS = 50

#: How long the builder may stay silent (a long RUN printing nothing) before the build is
#: given up; the Docker SDK's own read timeout (a minute) would cut such a build.
SILENT_SECONDS = 1800

#: The builder's lines a deployment keeps (the last ones: a failure shows at the end).
MAX_LINES = 5000


class DockerfileUpdate(BaseModel):
    """A partial change of the Dockerfile settings (left out: unchanged)."""

    model_config = ConfigDict(extra="forbid")

    #: Build from the Dockerfile (true) or run the build command in the runner image.
    enabled: bool | None = None
    #: The Dockerfile's path in the repository, below the root directory.
    path: Annotated[str | None, Field(max_length=255)] = None
    #: Build arguments (``--build-arg``): not secret, Docker keeps them in the image.
    build_args: dict[str, str] | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else dockerfile_path(value)

    @field_validator("build_args")
    @classmethod
    def _args(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else build_args(value)


def dockerfile_path(value: str) -> str:
    """A relative path inside the build context; raises ValueError otherwise."""
    value = value.strip()
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts:
        raise ValueError("the Dockerfile path must be a relative path inside the repository")
    return str(path)


def build_args(values: dict[str, str]) -> dict[str, str]:
    """Checked build arguments; raises ValueError on a bad name or too many."""
    if len(values) > MAX_BUILD_ARGS:
        raise ValueError(f"at most {MAX_BUILD_ARGS} build arguments")
    for name, value in values.items():
        if not _ARG_NAME.match(name):
            raise ValueError(f"bad build argument name {name!r}: use letters, digits and _")
        if len(value) > 4000:
            raise ValueError(f"build argument {name} is longer than 4000 characters")
    return dict(values)


def context_archive(context_dir: Path) -> bytes:
    """The build context: a tar of the directory without ``.git``."""
    buffer = io.BytesIO()

    def skip_git(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if ".git" in PurePosixPath(info.name).parts else info

    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(context_dir, arcname=".", filter=skip_git)
    return buffer.getvalue()


@dataclass(slots=True)
class BuildResult:
    """What the builder said: its lines, and its error (None: the image was built)."""

    lines: list[str] = field(default_factory=list)
    error: str | None = None
    #: The failing RUN's exit code when the builder names one (else 1).
    exit_code: int = 1

    def add(self, text: str) -> None:
        self.lines.extend(text.splitlines())
        del self.lines[:-MAX_LINES]


def build(
    client: docker.DockerClient,
    *,
    context_dir: Path,
    dockerfile: str,
    buildargs: dict[str, str],
    tag: str,
    labels: dict[str, str],
    on_line: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build ``context_dir`` with the engine's builder, tagged ``tag``; never raises for a
    failing Dockerfile (the result says so), only for a Docker that refuses the call."""
    result = BuildResult()
    chunks = client.api.build(
        fileobj=io.BytesIO(context_archive(context_dir)),
        custom_context=True,
        dockerfile=dockerfile,
        buildargs=buildargs,
        tag=tag,
        labels=labels,
        decode=True,
        rm=True,
        forcerm=True,
        pull=False,
        timeout=SILENT_SECONDS,
    )
    try:
        for chunk in chunks:
            _read_chunk(chunk, result, on_line)
    except OSError as exc:  # requests' errors: silent too long, or cut off
        result.error = f"the builder stopped answering: {exc}"
        _said(result, result.error, on_line)
    return result


_RETURNED = re.compile(r"returned a non-zero code: (\d+)")


def _said(result: BuildResult, text: str, on_line: Callable[[str], None] | None) -> None:
    """The builder's ``text``: kept in the result and handed on line by line."""
    result.add(text)
    if on_line is not None:
        for line in text.splitlines():
            on_line(line)


def _read_chunk(
    chunk: dict[str, Any], result: BuildResult, on_line: Callable[[str], None] | None
) -> None:
    text = chunk.get("stream")
    if isinstance(text, str) and text.strip():
        _said(result, text.rstrip("\n"), on_line)
    error = chunk.get("error")
    if isinstance(error, str):
        result.error = error.strip()
        _said(result, result.error, on_line)
        detail = chunk.get("errorDetail") or {}
        code = detail.get("code") if isinstance(detail, dict) else None
        match = _RETURNED.search(result.error)
        if isinstance(code, int) and code > 0:
            result.exit_code = code
        elif match:
            result.exit_code = int(match[1])


def apply_update(project: Any, change: DockerfileUpdate) -> None:
    """Set the project's Dockerfile settings that ``change`` gives."""
    if change.enabled is not None:
        project.build_from_dockerfile = change.enabled
    if change.path is not None:
        project.dockerfile_path = change.path
    if change.build_args is not None:
        project.build_args = change.build_args or None
