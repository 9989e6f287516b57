"""The runner container: its spec (pure functions, unit-tested) and the few Docker calls around it.

A runner runs one script, ``/devpush/run.sh``, that announces each step on its
output (``==> Build: …``, ``==> Pre-deploy: …``, ``==> Start: …``) so the log
reads as a story, and exits with a failing step's code. Logs go to Docker's
json-file driver with rotation; Alloy tails those files and ships them to Loki
with the labels of :func:`devpush.core.labels.runner_labels`.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import docker
from docker.errors import NotFound
from docker.models.containers import Container
from docker.types import LogConfig

from devpush.core.config import Settings
from devpush.core.errors import Unavailable
from devpush.core.labels import (
    BUILD_ROLE,
    DEPLOYMENT_LABEL,
    ENVIRONMENT_LABEL,
    LABEL_PREFIX,
    PROJECT_LABEL,
    ROLE_LABEL,
    RUNNER_LOG_LABELS_OPTION,
    RUNNER_ROLE,
    runner_labels,
)
from devpush.models import DeployStep
from devpush.services.git import Commit
from devpush.services.networks import project_network
from devpush.units import CPU_NANOS

#: Where the source is copied in the container, and where the step script lives.
APP_DIR = PurePosixPath("/app")
SCRIPT_PATH = PurePosixPath("/devpush/run.sh")

#: Where a build-command runner mounts its project's cache volume, and the variables that
#: point pip, npm and uv at it (devpush.services.build_cache).
CACHE_DIR = PurePosixPath("/cache")
CACHE_ENVIRONMENT = {
    "PIP_CACHE_DIR": str(CACHE_DIR / "pip"),
    "npm_config_cache": str(CACHE_DIR / "npm"),
    "UV_CACHE_DIR": str(CACHE_DIR / "uv"),
}

#: The label of a build image made by the builder from a Dockerfile (not a committed runner).
DOCKERFILE_BUILD_LABEL = f"{LABEL_PREFIX}dockerfile"

#: The local repository of kept builds (``devpush-build/<project id>:<deployment id>``).
BUILD_REPOSITORY = "devpush-build"

#: The label of a build image naming its deployment.
DEPLOYMENT_BUILD_LABEL = f"{LABEL_PREFIX}{DEPLOYMENT_LABEL}"

#: The prefix of the lines the script writes about itself (and the worker reads back).
STEP_PREFIX = "==> "

#: The steps the script runs, in order; it announces each by its label.
SCRIPT_STEPS = (DeployStep.BUILD, DeployStep.PRE_DEPLOY, DeployStep.START)
_ANNOUNCED = re.compile(
    rf"^{re.escape(STEP_PREFIX)}({'|'.join(re.escape(s.label) for s in SCRIPT_STEPS)}): "
)
_STEP_FAILED = re.compile(
    rf"^{re.escape(STEP_PREFIX)}({'|'.join(re.escape(s.label) for s in SCRIPT_STEPS)})"
    r" failed with exit code (\d+)$"
)
_BY_LABEL = {step.label: step for step in SCRIPT_STEPS}


class DockerError(Unavailable):
    """A Docker call failed; ``str()`` is fit to show a user."""


@dataclass(frozen=True, slots=True)
class Steps:
    """The commands of one deployment, as the project configures them."""

    build: str
    pre_deploy: str
    start: str


@dataclass(frozen=True, slots=True)
class RunnerSpec:
    """Everything that identifies one runner container."""

    deployment_id: str
    project_id: str
    environment_id: str
    branch: str
    commit_sha: str
    image: str
    port: int
    root_directory: str = ""
    # The project's own limits (Docker's memory notation, CPUs); None: the server's defaults.
    memory: str | None = None
    cpus: float | None = None
    # A Dockerfile build's runner works in its image's WORKDIR, not in the copied source.
    image_workdir: bool = False
    # The project's build cache volume (devpush.services.build_cache), mounted for builds.
    cache_volume: str | None = None


def container_name(deployment_id: str) -> str:
    return f"devpush-runner-{deployment_id}"


def working_dir(root_directory: str) -> str:
    """``/app`` or a directory below it; a root directory leaving the source is refused."""
    relative = PurePosixPath(root_directory.strip("/") or ".")
    if any(part == ".." for part in relative.parts):
        raise ValueError(f"root directory must stay inside the repository: {root_directory!r}")
    return str(APP_DIR / relative) if str(relative) != "." else str(APP_DIR)


def _one_line(text: str, limit: int = 100) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = re.sub(r"[\x00-\x1f\x7f]", " ", first)
    return first if len(first) <= limit else first[: limit - 1] + "…"


def deploy_headline(branch: str, commit: Commit) -> str:
    """The first line of a deployment's log: its branch, commit and message."""
    headline = f"{STEP_PREFIX}Deploying branch {branch} at {commit.sha[:12]}"
    if commit.message.strip():
        headline += f": {_one_line(commit.message)}"
    return headline


def run_script(
    *,
    steps: Steps,
    branch: str,
    commit: Commit,
    build_shown: str | None = None,
    with_headline: bool = True,
) -> str:
    """The POSIX sh script the runner executes; commands are quoted, never interpolated.

    ``build_shown``: what the build step's announcement shows instead of its command (a
    Dockerfile build's step: its lines are the build log container's, devpush.services.build_log).
    ``with_headline``: False when another container of the deployment (the build log's)
    already said ``deploy_headline``: the deployment's log shows it once.
    """
    q = shlex.quote
    headline = deploy_headline(branch, commit)
    lines = [
        "#!/bin/sh",
        "# Written by the devpush worker: runs each step and says so on its output.",
        "set -u",
        *([f"printf '%s\\n' {q(headline)}"] if with_headline else []),
        *_STEP_FUNCTION,
    ]
    for label, command in (
        (DeployStep.BUILD.label, steps.build),
        (DeployStep.PRE_DEPLOY.label, steps.pre_deploy),
    ):
        if command.strip():
            shown = build_shown if label == DeployStep.BUILD.label and build_shown else None
            lines.append(f"step {q(label)} {q(command)}" + (f" {q(shown)}" if shown else ""))
        else:
            lines.append(f"printf '%s\\n' {q(f'{STEP_PREFIX}{label}: skipped (no command)')}")
    return "\n".join([*lines, *_start_lines(steps.start)])


#: The scripts' ``step <label> <command> [<shown>]``: announce, run, stop on a failure.
_STEP_FUNCTION = (
    "step() {",
    # $3, when given: what the announcement shows instead of the command itself.
    f'  printf \'{STEP_PREFIX}%s: %s\\n\' "$1" "${{3:-$2}}"',
    '  sh -c "$2"',
    "  code=$?",
    '  if [ "$code" -ne 0 ]; then',
    f'    printf \'{STEP_PREFIX}%s failed with exit code %s\\n\' "$1" "$code"',
    '    exit "$code"',
    "  fi",
    "}",
)


def _start_lines(start: str) -> list[str]:
    """A script's last lines: say the start step, then become the app."""
    q = shlex.quote
    return [
        f"printf '{STEP_PREFIX}{DeployStep.START.label}: %s\\n' {q(start)}",
        # exec: the app becomes the process Docker stops, and its exit code is the container's.
        f"exec sh -c {q(start)}",
        "",
    ]


def rollback_script(
    *, deployment_id: str, commit_sha: str, start: str, unset: list[str] | None = None
) -> str:
    """The script of a rollback runner: the kept build's app starts again, nothing is built.

    ``unset``: variables the build image recorded that the deployment no longer has
    (Docker keeps a container's environment in the image it commits).
    """
    q = shlex.quote
    headline = (
        f"{STEP_PREFIX}Rollback: starting the build of deployment {deployment_id[:8]}"
        f" (commit {commit_sha[:12]})"
    )
    lines = [
        "#!/bin/sh",
        "# Written by the devpush worker: starts a kept build again (no build, no pre-deploy).",
        "set -u",
        f"printf '%s\\n' {q(headline)}",
    ]
    if unset:
        lines.append(f"unset {' '.join(q(name) for name in unset)} 2>/dev/null || true")
    return "\n".join([*lines, *_start_lines(start)])


def restart_script(*, start: str, reason: str) -> str:
    """The script of a runner restarted after failed health checks: the app starts again in
    its built container (no build, no pre-deploy: they ran before it first served)."""
    q = shlex.quote
    lines = [
        "#!/bin/sh",
        "# Written by the devpush worker: starts the app again after failed health checks.",
        "set -u",
        f"printf '%s\\n' {q(f'{STEP_PREFIX}Restart: {_one_line(reason, 200)}')}",
    ]
    return "\n".join([*lines, *_start_lines(start)])


def task_restart_script(*, steps: Steps, reason: str) -> str:
    """The script of a new swarm task after failed health checks: a fresh container of the
    runner image, so the build runs again; the pre-deploy step does not (it ran before the
    deployment first served, as a single server's restart skips it)."""
    q = shlex.quote
    lines = [
        "#!/bin/sh",
        "# Written by the devpush worker: a new task after failed health checks.",
        "set -u",
        f"printf '%s\\n' {q(f'{STEP_PREFIX}Restart: {_one_line(reason, 200)}')}",
        *_STEP_FUNCTION,
    ]
    if steps.build.strip():
        lines.append(f"step {q(DeployStep.BUILD.label)} {q(steps.build)}")
    if steps.pre_deploy.strip():
        skipped = f"{STEP_PREFIX}{DeployStep.PRE_DEPLOY.label}: skipped (it ran before the start)"
        lines.append(f"printf '%s\\n' {q(skipped)}")
    return "\n".join([*lines, *_start_lines(steps.start)])


def start_announced(lines: list[str]) -> bool:
    """Whether the script has announced its start step in ``lines`` (its last output)."""
    prefix = f"{STEP_PREFIX}{DeployStep.START.label}: "
    return any(line.startswith(prefix) for line in lines)


def stale_variables(
    *, image_env: list[str], base_env: list[str], environment: dict[str, str]
) -> list[str]:
    """Names a build image carries that neither its base image nor ``environment`` sets."""
    names = {item.partition("=")[0] for item in image_env}
    base = {item.partition("=")[0] for item in base_env}
    return sorted(names - base - set(environment))


def build_image_name(*, project_id: str, deployment_id: str) -> str:
    """Where a deployment's build is kept: one repository per project, a tag per deployment."""
    return f"{BUILD_REPOSITORY}/{project_id}:{deployment_id}"


def runner_environment(
    *, spec: RunnerSpec, project_vars: dict[str, str], environment_vars: dict[str, str]
) -> dict[str, str]:
    """Project variables, overridden by the environment's, then the platform's own."""
    return {
        "PYTHONUNBUFFERED": "1",  # Python apps' prints reach the log as they happen
        **project_vars,
        **environment_vars,
        "PORT": str(spec.port),
        "DEVPUSH_DEPLOYMENT_ID": spec.deployment_id,
        "DEVPUSH_BRANCH": spec.branch,
        "DEVPUSH_COMMIT_SHA": spec.commit_sha,
    }


def runner_log_options(*, max_size: str, max_file: int) -> dict[str, str]:
    """A runner's json-file options: rotation (``max_size`` x ``max_file``).

    The collector tails these files; the rotation bounds disk use; ``labels`` writes the
    devpush labels into every line for collectors that read the files without asking Docker.
    A runner container, a build log container and a runner service (swarm mode) share them.
    """
    return {"max-size": max_size, "max-file": str(max_file), "labels": RUNNER_LOG_LABELS_OPTION}


def runner_log_config(*, max_size: str, max_file: int) -> LogConfig:
    """:func:`runner_log_options` as a container's json-file log config."""
    return LogConfig(
        type=LogConfig.types.JSON,
        config=runner_log_options(max_size=max_size, max_file=max_file),
    )


def settings_log_config(settings: Settings) -> LogConfig:
    """The runner log config the server's settings give (``runner_log_max_*``)."""
    return runner_log_config(
        max_size=settings.runner_log_max_size, max_file=settings.runner_log_max_file
    )


def runner_role_labels(spec: RunnerSpec) -> dict[str, str]:
    """The four devpush labels of ``spec``'s deployment and the runner role (the collector
    ships what carries them, the cleanup removes them once stopped): a runner container's,
    a build log container's and a runner service's."""
    labels = runner_labels(
        project_id=spec.project_id,
        environment_id=spec.environment_id,
        branch=spec.branch,
        deployment_id=spec.deployment_id,
    )
    labels[ROLE_LABEL] = RUNNER_ROLE
    return labels


@dataclass(frozen=True, slots=True)
class Limits:
    """A runner's memory (Docker's notation) and CPUs: the project's, else the server's."""

    memory: str
    nano_cpus: int


def runner_limits(spec: RunnerSpec, settings: Settings) -> Limits:
    return Limits(
        memory=spec.memory or settings.runner_memory,
        nano_cpus=int((spec.cpus or settings.runner_cpus) * CPU_NANOS),
    )


def runner_container_spec(
    *, spec: RunnerSpec, environment: dict[str, str], settings: Settings
) -> dict[str, Any]:
    """Keyword arguments of ``client.containers.create`` for one deployment's runner."""
    labels = runner_role_labels(spec)
    limits = runner_limits(spec, settings)
    kwargs: dict[str, Any] = {
        "image": spec.image,
        "name": container_name(spec.deployment_id),
        "command": ["/bin/sh", str(SCRIPT_PATH)],
        "environment": environment,
        "labels": labels,
        "log_config": settings_log_config(settings),
        # No published port: the proxy and the worker reach the app on this network, the
        # project's own (devpush/services/networks.py).
        "network": project_network(settings, spec.project_id),
        "mem_limit": limits.memory,
        "nano_cpus": limits.nano_cpus,
        "security_opt": ["no-new-privileges"],
        # Docker's init as PID 1: forwards SIGTERM to the app (a stop is quick) and reaps zombies.
        "init": True,
        "stop_signal": "SIGTERM",
    }
    if not spec.image_workdir:
        kwargs["working_dir"] = working_dir(spec.root_directory)
    if spec.cache_volume is not None:
        kwargs["volumes"] = {spec.cache_volume: {"bind": str(CACHE_DIR), "mode": "rw"}}
        # The user's variables win: a project may point a package manager elsewhere.
        kwargs["environment"] = {**CACHE_ENVIRONMENT, **environment}
    return kwargs


def source_archive(*, source_dir: Path, script: str) -> bytes:
    """A tar of the checkout (without ``.git``) under ``/app``, plus the step script."""
    buffer = io.BytesIO()

    def skip_git(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = PurePosixPath(info.name).parts
        return None if ".git" in parts else info

    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(source_dir, arcname=APP_DIR.name, filter=skip_git)
        folder = tarfile.TarInfo(SCRIPT_PATH.parent.name)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        data = script.encode()
        entry = tarfile.TarInfo(f"{SCRIPT_PATH.parent.name}/{SCRIPT_PATH.name}")
        entry.size, entry.mode = len(data), 0o755
        tar.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def script_archive(script: str) -> bytes:
    """A tar of the step script alone (a rollback runner has its source in its image)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = script.encode()
        entry = tarfile.TarInfo(f"{SCRIPT_PATH.parent.name}/{SCRIPT_PATH.name}")
        entry.size, entry.mode = len(data), 0o755
        tar.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def failed_step(lines: list[str], exit_code: int) -> DeployStep:
    """The step the script was in when it exited with ``exit_code``, from its last lines.

    A failing build or pre-deploy step ends the output with the script's own
    ``==> Build failed with exit code N``; otherwise the last step announced in
    ``lines`` failed (killed mid-step), and with no announcement left in view the
    exec'd start command is the one that exited.
    """
    if lines and (match := _STEP_FAILED.match(lines[-1])) and int(match[2]) == exit_code:
        return _BY_LABEL[match[1]]
    for line in reversed(lines):
        if match := _ANNOUNCED.match(line):
            return _BY_LABEL[match[1]]
    return DeployStep.START


def step_output(lines: list[str], step: DeployStep) -> list[str]:
    """The lines ``step`` printed: after its announcement, without the script's failure line."""
    start = 0
    for index in range(len(lines) - 1, -1, -1):
        if (match := _ANNOUNCED.match(lines[index])) and match[1] == step.label:
            start = index + 1
            break
    output = lines[start:]
    if output and (match := _STEP_FAILED.match(output[-1])) and match[1] == step.label:
        output = output[:-1]
    return output


# Docker calls ---------------------------------------------------------------


def docker_client(settings: Settings) -> docker.DockerClient:
    return docker.DockerClient(base_url=settings.docker_host, timeout=60)


def runner_host(container: Container, *, via: str, network: str) -> str | None:
    """The runner's address on the runner network (None: not attached, or not started).

    ``container_ip``: its IP there, which the host reaches on Linux (the local run,
    tests); ``container_name``: its name, which Docker's DNS resolves for containers
    on the same network (the worker and the proxy in the Compose stack).
    """
    if via == "container_name":
        name: str = container.name
        return name
    networks = container.attrs.get("NetworkSettings", {}).get("Networks") or {}
    address: str | None = (networks.get(network) or {}).get("IPAddress")
    return address or None


def app_port(container: Container) -> int | None:
    """The port the runner's app listens on: its ``PORT``, as the worker set it."""
    for item in container.attrs.get("Config", {}).get("Env") or []:
        name, _, value = item.partition("=")
        if name == "PORT" and value.isdigit():
            return int(value)
    return None


def ready_url(container: Container, port: int, *, via: str, network: str) -> str | None:
    """Where the worker asks whether the runner's app answers (None: no address yet)."""
    host = runner_host(container, via=via, network=network)
    return None if host is None else f"http://{host}:{port}/"


def upstream_address(container: Container, *, network: str) -> tuple[str, int] | None:
    """The IP and port where the proxy sends a running runner's requests.

    Always the IP on the runner network: the route resolver hands it to the proxy as an
    A record (``devpush.resolver``), in the Compose stack and on the host alike.
    """
    host, port = runner_host(container, via="container_ip", network=network), app_port(container)
    return None if host is None or port is None else (host, port)


def get_container(client: docker.DockerClient, id_or_name: str) -> Container | None:
    try:
        return client.containers.get(id_or_name)
    except NotFound:
        return None


def output_tail(container: Container, lines: int) -> bytes:
    """The runner's last ``lines`` lines, stdout and stderr in order; empty if Docker has none."""
    try:
        output: bytes = container.logs(stdout=True, stderr=True, tail=lines)
        return output
    except docker.errors.APIError:  # removed meanwhile, or its log files are gone
        return b""


def stop_container(client: docker.DockerClient, id_or_name: str, *, timeout: int) -> None:
    """Stop (never remove: Alloy still has to ship its last lines); a missing one is fine."""
    container = get_container(client, id_or_name)
    if container is not None and container.status in ("running", "restarting", "paused"):
        with contextlib.suppress(NotFound):  # removed meanwhile: nothing left to stop
            container.stop(timeout=timeout)


def restart_container(container: Container, *, script: str, timeout: int) -> None:
    """Put ``script`` in place of the run script, then restart (the same container: its
    network, its name and its route stay). Raises :class:`DockerError`."""
    try:
        container.put_archive("/", script_archive(script))
        container.restart(timeout=timeout)
    except docker.errors.APIError as exc:
        raise DockerError(f"Docker could not restart the runner: {exc.explanation}") from exc


def docker_time(raw: str) -> datetime | None:
    """A time Docker reports (RFC 3339, nanoseconds, ``Z``), or None for its zero time."""
    if not raw or raw.startswith("0001-"):
        return None  # Docker's zero time: never happened
    # Python 3.11 reads "Z" and any number of fraction digits (it keeps microseconds).
    return datetime.fromisoformat(raw)


def _ended_at(container: Container) -> datetime | None:
    """When the container exited; for one never started, when it was created."""
    finished = docker_time(container.attrs.get("State", {}).get("FinishedAt", ""))
    return finished or docker_time(container.attrs.get("Created", ""))


def remove_stopped_runners(
    client: docker.DockerClient,
    *,
    older_than: timedelta,
    labels: dict[str, str] | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Remove runner containers that exited more than ``older_than`` ago; their names.

    ``labels`` narrows the search further (for example to one project's runners).
    """
    now = now or datetime.now(UTC)
    removed = []
    wanted = {ROLE_LABEL: RUNNER_ROLE, **(labels or {})}
    filters = {
        "label": [f"{key}={value}" for key, value in wanted.items()],
        "status": ["exited", "created", "dead"],
    }
    for container in client.containers.list(all=True, filters=filters):
        ended = _ended_at(container)
        if ended is None or now - ended < older_than:
            continue
        with contextlib.suppress(NotFound):
            container.remove(force=False)
            removed.append(container.name)
    return removed


def commit_build(
    container: Container, *, project_id: str, environment_id: str, deployment_id: str
) -> str:
    """Commit a ready runner to its build image (the app keeps running: no pause); its name."""
    name = build_image_name(project_id=project_id, deployment_id=deployment_id)
    repository, _, tag = name.rpartition(":")
    labels = build_labels(
        project_id=project_id, environment_id=environment_id, deployment_id=deployment_id
    )
    try:
        container.commit(repository=repository, tag=tag, pause=False, conf={"Labels": labels})
    except docker.errors.APIError as exc:
        raise DockerError(f"cannot keep the build: {exc.explanation}") from exc
    return name


def build_labels(*, project_id: str, environment_id: str, deployment_id: str) -> dict[str, str]:
    """The labels of a kept build image (collection and deletion find it by them)."""
    return {
        f"{LABEL_PREFIX}{PROJECT_LABEL}": project_id,
        f"{LABEL_PREFIX}{ENVIRONMENT_LABEL}": environment_id,
        f"{LABEL_PREFIX}{DEPLOYMENT_LABEL}": deployment_id,
        ROLE_LABEL: BUILD_ROLE,
    }


def image_config(client: docker.DockerClient, name: str) -> dict[str, Any]:
    """An image's ``Config`` (its Env, Cmd, Entrypoint, Labels); empty if it is missing."""
    try:
        config: dict[str, Any] = client.images.get(name).attrs.get("Config") or {}
    except NotFound:
        return {}
    return config


def image_start_command(config: dict[str, Any]) -> str:
    """An image's ENTRYPOINT and CMD as one shell command (empty: it has neither)."""
    words = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    return shlex.join(words)


def image_env(client: docker.DockerClient, name: str) -> list[str]:
    """An image's recorded environment (``NAME=value`` items); empty if it is missing."""
    try:
        env: list[str] = client.images.get(name).attrs.get("Config", {}).get("Env") or []
    except NotFound:
        return []
    return env


def remove_image(client: docker.DockerClient, name: str) -> bool:
    """Remove a build image; False when a running container still uses it.

    ``force``: a stopped runner made from it does not keep it (Docker never removes an
    image a running container uses, forced or not).
    """
    try:
        client.images.remove(name, force=True)
    except NotFound:
        return True
    except docker.errors.APIError as exc:
        if exc.status_code == 409:
            return False
        raise DockerError(f"cannot remove image {name}: {exc.explanation}") from exc
    return True


def build_images(client: docker.DockerClient, *, labels: dict[str, str]) -> list[str]:
    """The kept build images with ``labels`` (for example one project's), by name."""
    filters = {"label": [f"{ROLE_LABEL}={BUILD_ROLE}"] + [f"{k}={v}" for k, v in labels.items()]}
    return [tag for image in client.images.list(filters=filters) for tag in image.tags]
