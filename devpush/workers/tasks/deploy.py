"""The deploy job, in small steps (each a function below, in this order).

- ``_claim``: the deployment goes ``queued → building`` (a canceled one is skipped);
- ``_prepare_runner``: fetch the branch's newest commit (or the requested one, exactly,
  with the project's git credentials) into a temp dir (its SHA and
  message are recorded), create the runner container, copy the source and the step
  script in, start it;
- ``_follow_runner``: wait until the app passes the project's health check on its port
  (``running``; by default any answer to ``/``), its script exits (``failed`` with the
  exit code, or "out of memory" when the kernel killed it at its limit), the deployment
  is canceled (``stopped``) or the ready timeout, or the check's grace period after the
  start step, passes (``failed`` with the check's last answer); once running, point the
  proxy table's entries at it (the environment's URL follows it), then supersede the
  environment's previous running deployment (``to_supersede``) and drop its route.

A failure in the clone or in a step of the runner also stores the failure record
(step, exit code, the step's last lines: see ``devpush.services.failure``), read from
Docker while the runner still exists.

A failed runner is kept (the collector ships its last lines); old stopped runners are
removed later by the cleanup job (see ``devpush.workers.tasks.stop``).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import docker.errors
from docker.models.containers import Container
from sqlalchemy import select
from sqlalchemy.orm import Session

from devpush.core.crypto import DecryptionError, decrypt_mapping, fernet_for
from devpush.core.db import session_scope
from devpush.models import Deployment, DeploymentStatus, DeployStep
from devpush.services import (
    build_cache,
    build_log,
    builds,
    dockerfile,
    failure,
    health,
    networks,
    resources,
    runner,
    runners,
)
from devpush.services.cluster import registry, runner_services
from devpush.services.deployments import transition
from devpush.services.git import Commit, GitError, fetch_commit, local_roots
from devpush.services.notifications.messages import FAILED, SUCCEEDED
from devpush.services.project_git import project_credentials
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.notify import announce

log = logging.getLogger(__name__)

#: How often the worker looks at the container, the database and the port while waiting.
POLL_SECONDS = 0.5


# Small exceptions and frozen records, alike in shape across devpush/ on purpose: each names
# its own case and fields; nothing to share but the decorator.
class DeployFailed(Exception):
    """A step failed in a way the user should read (bad repo, bad variables, Docker refused)."""

    def __init__(self, message: str, *, record: failure.FailureColumns | None = None) -> None:
        super().__init__(message)
        #: The failure record's columns, when a user's step failed (not the platform).
        self.record = record


class DeploymentGone(LookupError):
    """The deployment's row was deleted while its job ran (with its project, for example)."""


@dataclass(frozen=True, slots=True)
class Job:
    """What the steps need, read once from the database (no session kept open)."""

    deployment_id: str
    project_id: str
    environment_id: str
    branch: str
    repo_url: str
    image: str
    port: int
    root_directory: str
    steps: runner.Steps
    project_vars_encrypted: str
    environment_vars_encrypted: str
    requested_commit: str | None = None  # a chosen commit, fetched exactly
    # The project's git credentials, still encrypted (devpush.services.project_git).
    deploy_key_private_encrypted: str | None = None
    ssh_known_hosts: str = ""
    git_token_encrypted: str | None = None
    git_token_username: str = ""
    # What counts as ready (devpush.services.health) and the runner's own limits.
    check: health.HealthCheck = field(default_factory=health.HealthCheck)
    memory_mb: int | None = None
    cpus: float | None = None
    # The Dockerfile's path when the project builds from one (None: the build command runs
    # in the runner image), and its build arguments.
    dockerfile: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    # Swarm mode: the node label (``zone=eu``) that places the runner; None: spread.
    placement_label: str | None = None
    # Swarm mode: the environment's replica count (each a task, ready checked alike).
    replicas: int = 1


class Outcome(Enum):
    READY = "ready"
    EXITED = "exited"
    CANCELED = "canceled"
    TIMED_OUT = "timed out"


def run_deploy(deployment_id: str, *, ctx: WorkerContext) -> None:
    """The huey task body: runs one deployment to ``running`` or a final status."""
    job = _claim(ctx, deployment_id)
    if job is None:
        log.info("deployment %s is no longer queued: skipped", deployment_id)
        return
    try:
        source = _rollback_source(ctx, job)
        if source is not None:
            container = _prepare_rollback_runner(ctx, job, source)
        else:
            container = _prepare_runner(ctx, job)
        if container is not None:
            _follow_runner(ctx, job, container)
    except DeployFailed as exc:
        _drop_unkept_build(ctx, job)
        _mark_failed(ctx, job.deployment_id, error=str(exc), record=exc.record)
    except runner_services.ServiceError as exc:  # swarm mode: the task never ran
        _mark_failed(ctx, job.deployment_id, error=str(exc))
    except Exception:
        log.exception("deployment %s: unexpected error", deployment_id)
        _mark_failed(
            ctx, job.deployment_id, error="internal error in the deploy worker (see its log)"
        )
        raise


def _claim(ctx: WorkerContext, deployment_id: str) -> Job | None:
    with session_scope(ctx.sessions) as session:
        if not transition(session, deployment_id=deployment_id, to=DeploymentStatus.BUILDING):
            return None
        deployment = _deployment(session, deployment_id)
        project, environment = deployment.project, deployment.environment
        return Job(
            deployment_id=deployment.id,
            project_id=project.id,
            environment_id=environment.id,
            branch=deployment.branch,
            repo_url=project.repo_url,
            image=project.runner_image,
            port=project.port,
            root_directory=project.root_directory,
            steps=runner.Steps(
                build=project.build_command,
                pre_deploy=project.pre_deploy_command,
                start=project.start_command,
            ),
            project_vars_encrypted=project.env_vars_encrypted,
            environment_vars_encrypted=environment.env_vars_encrypted,
            requested_commit=deployment.requested_commit,
            deploy_key_private_encrypted=project.deploy_key_private_encrypted,
            ssh_known_hosts=project.ssh_known_hosts,
            git_token_encrypted=project.git_token_encrypted,
            git_token_username=project.git_token_username,
            check=health.HealthCheck.of(project),
            memory_mb=project.memory_mb,
            cpus=project.cpus,
            dockerfile=project.dockerfile_path if project.build_from_dockerfile else None,
            build_args=dict(project.build_args or {}),
            placement_label=project.placement_label or None,
            replicas=environment.replicas,
        )


def _prepare_runner(ctx: WorkerContext, job: Job) -> Container | None:
    """Fetch, create, copy in, start; None when the deployment was canceled meanwhile."""
    with tempfile.TemporaryDirectory(prefix="devpush-src-") as tmp:
        checkout = Path(tmp) / "src"
        commit = _fetch(ctx, job, checkout)
        if _canceled(ctx, job):
            return None
        if job.dockerfile is not None:
            if ctx.settings.swarm and not ctx.settings.swarm_registry:
                raise DeployFailed(registry.NO_REGISTRY)
            container = _build_dockerfile(ctx, job, commit, checkout)
        else:
            container = _create_runner(ctx, job, commit, checkout)
    if _canceled(ctx, job):
        _drop_unkept_build(ctx, job)
        return None  # created, never started: the cleanup job removes it
    _start(container)
    return container


def _fetch(ctx: WorkerContext, job: Job, checkout: Path) -> Commit:
    try:
        credentials = project_credentials(
            job, fernet_for(ctx.settings.secret_key.get_secret_value())
        )
    except DecryptionError as exc:
        raise DeployFailed(str(exc)) from exc
    try:
        commit = fetch_commit(
            url=job.repo_url,
            branch=job.branch,
            dest=checkout,
            commit=job.requested_commit,
            roots=local_roots(ctx.settings),
            credentials=credentials,
        )
    except GitError as exc:
        record = failure.step_failure(
            DeployStep.CLONE, lines=[str(exc)], max_line_chars=ctx.settings.log_line_max_chars
        )
        raise DeployFailed(str(exc), record=record) from exc
    _update(ctx, job.deployment_id, commit_sha=commit.sha, commit_message=commit.message)
    return commit


def _variables(ctx: WorkerContext, encrypted: str) -> dict[str, str]:
    if not encrypted:
        return {}
    try:
        return decrypt_mapping(fernet_for(ctx.settings.secret_key.get_secret_value()), encrypted)
    except DecryptionError as exc:
        raise DeployFailed(str(exc)) from exc


# Copies the job's fields into a RunnerSpec on purpose, as _claim copies the rows into a Job:
# the runner module knows neither the deploy job nor the database.
def _runner_spec(job: Job, *, commit_sha: str, image: str) -> runner.RunnerSpec:
    return runner.RunnerSpec(
        deployment_id=job.deployment_id,
        project_id=job.project_id,
        environment_id=job.environment_id,
        branch=job.branch,
        commit_sha=commit_sha,
        image=image,
        port=job.port,
        root_directory=job.root_directory,
        memory=None if job.memory_mb is None else f"{job.memory_mb}m",
        cpus=job.cpus,
    )


def _runner_variables(ctx: WorkerContext, job: Job, spec: runner.RunnerSpec) -> dict[str, str]:
    """The runner's environment, from the project's and the environment's current variables."""
    return runner.runner_environment(
        spec=spec,
        project_vars=_variables(ctx, job.project_vars_encrypted),
        environment_vars=_variables(ctx, job.environment_vars_encrypted),
    )


def _create_container(
    ctx: WorkerContext,
    job: Job,
    spec: runner.RunnerSpec,
    environment: dict[str, str],
    *,
    image_missing: str | None = None,
) -> Container:
    """Create the runner container (not started) and record it on the deployment;
    ``image_missing``: the error when the spec's image is gone (else one naming it)."""
    try:
        kwargs = runner.runner_container_spec(
            spec=spec, environment=environment, settings=ctx.settings
        )
        network = networks.ensure_project_network(ctx.docker, ctx.settings, job.project_id)
        networks.attach_proxy(ctx.docker, ctx.settings, [network])
        container = ctx.docker.containers.create(**kwargs)
    except ValueError as exc:
        raise DeployFailed(str(exc)) from exc
    except docker.errors.ImageNotFound as exc:
        missing = image_missing or f"runner image {spec.image} is not available on this host"
        raise DeployFailed(missing) from exc
    except (docker.errors.APIError, runner.DockerError, networks.NetworkError) as exc:
        raise DeployFailed(f"Docker refused the runner container: {exc}") from exc
    _update(ctx, job.deployment_id, container_id=container.id, container_name=container.name)
    return container


def _copy_in(container: Container, archive: bytes, *, what: str) -> None:
    try:
        container.put_archive("/", archive)
    except docker.errors.APIError as exc:
        raise DeployFailed(f"Docker refused the {what}: {exc.explanation}") from exc


def _start(container: Container) -> None:
    try:
        container.start()
    except docker.errors.APIError as exc:
        raise DeployFailed(f"Docker could not start the runner: {exc.explanation}") from exc


def _create_runner(ctx: WorkerContext, job: Job, commit: Commit, checkout: Path) -> Container:
    if ctx.settings.swarm:
        return _create_service(ctx, job, commit, checkout)
    try:
        cache = build_cache.ensure_volume(ctx.docker, ctx.settings, job.project_id)
    except docker.errors.APIError as exc:
        raise DeployFailed(f"Docker refused the build cache volume: {exc.explanation}") from exc
    spec = replace(_runner_spec(job, commit_sha=commit.sha, image=job.image), cache_volume=cache)
    script = runner.run_script(steps=job.steps, branch=job.branch, commit=commit)
    container = _create_container(ctx, job, spec, _runner_variables(ctx, job, spec))
    _copy_in(
        container, runner.source_archive(source_dir=checkout, script=script), what="source archive"
    )
    return container


def _create_service(ctx: WorkerContext, job: Job, commit: Commit, checkout: Path) -> Container:
    """Swarm mode: the runner service (no task yet), its source offered to the task.

    No build cache: a volume is one host's, and the task may run on any.
    """
    spec = _runner_spec(job, commit_sha=commit.sha, image=job.image)
    script = runner.run_script(steps=job.steps, branch=job.branch, commit=commit)
    archive = runner.source_archive(source_dir=checkout, script=script)
    try:
        url, token = ctx.sources.offer(
            ctx.settings.swarm_source_address,
            archive,
            ttl_seconds=ctx.settings.runner_ready_timeout_seconds,
            uses=job.replicas,
        )
    except (ValueError, OSError) as exc:
        raise DeployFailed(str(exc)) from exc
    return _make_service(
        ctx,
        job,
        spec,
        _runner_variables(ctx, job, spec),
        source={"source_url": url, "source_token": token},
    )


def _make_service(
    ctx: WorkerContext,
    job: Job,
    spec: runner.RunnerSpec,
    environment: dict[str, str],
    *,
    source: dict[str, str] | None = None,
    script: str | None = None,
) -> Container:
    """Swarm mode: the runner service with no task yet, recorded on the deployment; its
    task fetches ``source`` (the source server's URL and token) or runs ``script`` in an
    image that holds the app (a build in the registry)."""
    try:
        kwargs = runner_services.runner_service_spec(
            spec=spec,
            environment=environment,
            settings=ctx.settings,
            **(source or {}),
            script=script,
            host_label=job.placement_label,
            replicas=0,
            wanted=job.replicas,
        )
        overlay = runner_services.ensure_project_overlay(ctx.docker, ctx.settings, job.project_id)
        networks.attach_proxy(ctx.docker, ctx.settings, [overlay])
        task = runner_services.create_service_task(ctx.docker, ctx.settings, kwargs)
    except (ValueError, OSError) as exc:
        raise DeployFailed(str(exc)) from exc
    except (docker.errors.APIError, runner_services.ServiceError, networks.NetworkError) as exc:
        raise DeployFailed(f"Docker refused the runner service: {exc}") from exc
    _update(ctx, job.deployment_id, container_id=task.id, container_name=task.name)
    return task


def _build_dockerfile(ctx: WorkerContext, job: Job, commit: Commit, checkout: Path) -> Container:
    """Build the image from the Dockerfile; the runner: a container of the built image.

    The builder's lines stream live into the deployment's log through a build log
    container (devpush.services.build_log); a failed build's record reads its last lines.
    """
    assert job.dockerfile is not None
    tag = _build_tag(ctx, job)
    shown = f"docker build -f {job.dockerfile} (the engine's builder)"
    lines = _open_build_log(ctx, job, commit)
    lines.write(f"{runner.STEP_PREFIX}{DeployStep.BUILD.label}: {shown}")
    try:
        result = _run_builder(ctx, job, checkout, tag=tag, on_line=lines.write)
    except BaseException:
        lines.finish(1)  # its cat ends: no container left waiting on stdin
        raise
    if result.error is not None:
        lines.write(
            f"{runner.STEP_PREFIX}{DeployStep.BUILD.label} failed with exit code {result.exit_code}"
        )
        lines.finish(result.exit_code)
        record = _runner_failure(ctx, lines.container, exit_code=result.exit_code)
        error = f"{record['failure_step'].label} exited with code {result.exit_code}"
        raise DeployFailed(error, record=record)
    if ctx.settings.swarm:
        _push(ctx, job, lines, tag)
    lines.finish(0)
    config = runner.image_config(ctx.docker, tag)
    start = job.steps.start.strip() or runner.image_start_command(config)
    if not start:
        runner.remove_image(ctx.docker, tag)
        raise DeployFailed("the image has no CMD and the project sets no start command")
    # The build's lines are the build log container's: the runner's Build step says so only.
    steps = runner.Steps(build="true", pre_deploy=job.steps.pre_deploy, start=start)
    spec = replace(_runner_spec(job, commit_sha=commit.sha, image=tag), image_workdir=True)
    script = runner.run_script(
        steps=steps,
        branch=job.branch,
        commit=commit,
        build_shown=f"{shown}: built",
        with_headline=False,  # the build log container said it (_open_build_log)
    )
    if ctx.settings.swarm:
        return _make_service(ctx, job, spec, _runner_variables(ctx, job, spec), script=script)
    container = _create_container(ctx, job, spec, _runner_variables(ctx, job, spec))
    _copy_in(container, runner.script_archive(script), what="run script")
    return container


def _build_tag(ctx: WorkerContext, job: Job) -> str:
    """The name a Dockerfile build gets: the kept build's local name on one server, its
    name in the registry in swarm mode (the task's host pulls it)."""
    if ctx.settings.swarm:
        try:
            return registry.image_name(
                ctx.settings.swarm_registry,
                project_id=job.project_id,
                deployment_id=job.deployment_id,
            )
        except ValueError as exc:
            raise DeployFailed(str(exc)) from exc
    return runner.build_image_name(project_id=job.project_id, deployment_id=job.deployment_id)


def _push(ctx: WorkerContext, job: Job, lines: build_log.BuildLog, tag: str) -> None:
    """Swarm mode: push the build to the registry, said in the build's lines; a refusal
    fails the deployment at its Build step with the engine's reason."""
    registry_host = tag.partition("/")[0]
    lines.write(f"{runner.STEP_PREFIX}{DeployStep.BUILD.label}: pushing to {registry_host}")
    started = time.monotonic()
    try:
        registry.push(ctx.docker, tag)
    except registry.RegistryError as exc:
        lines.write(str(exc))
        lines.write(f"{runner.STEP_PREFIX}{DeployStep.BUILD.label} failed with exit code 1")
        lines.finish(1)
        builds.remove_build(ctx.docker, tag)
        record = _runner_failure(ctx, lines.container, exit_code=1)
        raise DeployFailed(str(exc), record=record) from exc
    log.info(
        "deployment %s: build pushed to %s in %.2f s",
        job.deployment_id,
        registry_host,
        time.monotonic() - started,
    )


def _open_build_log(ctx: WorkerContext, job: Job, commit: Commit) -> build_log.BuildLog:
    """The started build log container of the runner image, recorded on the deployment
    (a failed build's container is the deployment's until a runner replaces it)."""
    spec = _runner_spec(job, commit_sha=commit.sha, image=job.image)
    try:
        container = ctx.docker.containers.create(
            **build_log.container_spec(spec, settings=ctx.settings)
        )
    except docker.errors.ImageNotFound as exc:
        raise DeployFailed(f"runner image {job.image} is not available on this host") from exc
    except docker.errors.APIError as exc:
        raise DeployFailed(f"Docker refused the build log container: {exc}") from exc
    _update(ctx, job.deployment_id, container_id=container.id, container_name=container.name)
    lines = build_log.BuildLog(ctx.docker, container)
    lines.write(runner.deploy_headline(job.branch, commit))
    return lines


def _run_builder(
    ctx: WorkerContext,
    job: Job,
    checkout: Path,
    *,
    tag: str,
    on_line: Callable[[str], None],
) -> dockerfile.BuildResult:
    """The engine's builder on the checkout's root directory; each line to ``on_line``."""
    assert job.dockerfile is not None
    labels = {
        **runner.build_labels(
            project_id=job.project_id,
            environment_id=job.environment_id,
            deployment_id=job.deployment_id,
        ),
        runner.DOCKERFILE_BUILD_LABEL: "1",
    }
    context = checkout / runner.working_dir(job.root_directory).removeprefix(
        str(runner.APP_DIR)
    ).lstrip("/")
    started = time.monotonic()
    try:
        result = dockerfile.build(
            ctx.docker,
            context_dir=context,
            dockerfile=job.dockerfile,
            buildargs=dict(job.build_args),
            tag=tag,
            labels=labels,
            on_line=on_line,
        )
    except docker.errors.APIError as exc:  # no Dockerfile at the path, a bad context
        result = dockerfile.BuildResult(error=str(exc.explanation or exc))
        result.add(result.error or "")
        for line in (result.error or "").splitlines():
            on_line(line)
    log.info(
        "deployment %s: Dockerfile build %s in %.2f s",
        job.deployment_id,
        "failed" if result.error else "done",
        time.monotonic() - started,
    )
    return result


def _drop_unkept_build(ctx: WorkerContext, job: Job) -> None:
    """A Dockerfile deployment that never ran: its built image goes (no rollback to it)."""
    if job.dockerfile is None or (ctx.settings.swarm and not ctx.settings.swarm_registry):
        return
    try:
        name = _build_tag(ctx, job)
    except DeployFailed:
        return
    try:
        builds.remove_build(ctx.docker, name)
    except runner.DockerError as exc:
        log.warning("deployment %s: %s", job.deployment_id, exc)


def _follow_runner(ctx: WorkerContext, job: Job, container: Container) -> None:
    outcome, waiting = _wait(ctx, job, container)
    if outcome is not Outcome.READY:
        _drop_unkept_build(ctx, job)
    if outcome is Outcome.READY:
        # The proxy table moves the URLs before any row changes: the new runner's come,
        # the environment's URL follows it, the yielding deployments' own URLs go. The
        # switch starts once Caddy has no cached answer from before, so a deployment
        # shown as running answers at once, and the old runner stops only after the last
        # request routed to it. Caddy's config never changes: no request fails.
        with session_scope(ctx.sessions) as session:
            yielding = _yielding(session, job)
        with ctx.proxy_table.switching(ctx, becoming_running=job.deployment_id, leaving=yielding):
            running = _mark_running(ctx, job)
            superseded = _supersede_previous(ctx, job) if running else []
        if not running:  # canceled in the instant it became ready: its host entries go again
            ctx.proxy_table.refresh(ctx)
            _stop(ctx, container)
            _drop_unkept_build(ctx, job)
            return
        if [deployment_id for deployment_id, _ in superseded] != yielding:
            ctx.proxy_table.refresh(ctx)  # another deploy of the environment moved meanwhile
        for _, container_ref in superseded:
            runners.stop_runner(ctx.docker, ctx.settings, container_ref)
        _keep_build(ctx, job, container)
    elif outcome is Outcome.EXITED:
        container.reload()
        code = int(container.attrs["State"]["ExitCode"])
        record = _runner_failure(ctx, container, exit_code=code)
        error = f"{record['failure_step'].label} exited with code {code}"
        if resources.out_of_memory(container.attrs):
            error = resources.out_of_memory_message(
                container.attrs, what=record["failure_step"].label
            )
            record = _with_line(ctx, record, f"{runner.STEP_PREFIX}{error}")
        _mark_failed(ctx, job.deployment_id, error=error, record=record)
    elif outcome is Outcome.CANCELED:
        _stop(ctx, container)
    else:
        _stop(ctx, container)
        record = _runner_failure(ctx, container, exit_code=None, step=DeployStep.READY_CHECK)
        error, answer_line = _not_ready(ctx, job, waiting)
        if answer_line is not None:
            record = _with_line(ctx, record, answer_line)
        _mark_failed(ctx, job.deployment_id, error=error, record=record)


@dataclass(slots=True)
class Waiting:
    """The ready check while a deploy waits: its deadline and its last answer."""

    deadline: float
    #: When the start step was announced (the check's grace period runs from it).
    started_at: float | None = None
    last: health.Answer | None = None


def _wait(ctx: WorkerContext, job: Job, container: Container) -> tuple[Outcome, Waiting]:
    waiting = Waiting(deadline=time.monotonic() + ctx.settings.runner_ready_timeout_seconds)
    while time.monotonic() < waiting.deadline:
        if _canceled(ctx, job):
            return Outcome.CANCELED, waiting
        container.reload()
        if container.status not in ("created", "running"):
            return Outcome.EXITED, waiting
        _start_grace(job, container, waiting)
        if _answers(ctx, job, container, waiting):
            return Outcome.READY, waiting
        time.sleep(POLL_SECONDS)
    return Outcome.TIMED_OUT, waiting


def _answers(ctx: WorkerContext, job: Job, container: Container, waiting: Waiting) -> bool:
    """Whether the runner passes the ready check: every replica of it (swarm mode), each
    asked at its own address (the last answer kept for the failure record)."""
    if container.status != "running":
        return False
    for replica in runners.replicas(container):
        url = runner.ready_url(
            replica,
            job.port,
            via=ctx.settings.runner_address,
            network=networks.network_of(container, ctx.settings, job.project_id),
        )
        if url is None:
            return False
        waiting.last = health.ask(ctx.settings, url, job.check.path)
        if not job.check.passes(waiting.last):
            return False
    return True


#: The runner's last lines read for its start step's announcement.
START_TAIL_LINES = 100


def _start_grace(job: Job, container: Container, waiting: Waiting) -> None:
    """Once the start step is announced, the deadline comes within the grace period."""
    grace = job.check.grace_seconds
    if grace is None or waiting.started_at is not None or container.status != "running":
        return
    lines = failure.output_lines(runner.output_tail(container, START_TAIL_LINES))
    if runner.start_announced(lines):
        waiting.started_at = time.monotonic()
        waiting.deadline = min(waiting.deadline, waiting.started_at + grace)


def _not_ready(ctx: WorkerContext, job: Job, waiting: Waiting) -> tuple[str, str | None]:
    """The error of a deploy whose check never passed, and the line with its last answer
    for the failure record (None: nothing answered the default check, as before checks
    could be set)."""
    check, last = job.check, waiting.last
    if waiting.started_at is not None and check.grace_seconds is not None:
        within = f"{check.grace_seconds} s of the start step"
    else:
        within = f"{ctx.settings.runner_ready_timeout_seconds:g} s"
    if check.is_default and (last is None or last.status is None):
        return f"no answer on port {job.port} within {within}", None
    said = last.describe() if last is not None else "no answer: the runner had no address"
    return (
        f"the health check {check.what} did not pass within {within}; last answer: {said}",
        f"{runner.STEP_PREFIX}Health check {check.what}: {said}",
    )


def _with_line(
    ctx: WorkerContext, record: failure.FailureColumns, line: str
) -> failure.FailureColumns:
    """The record with ``line`` as its last line (the cap still holds)."""
    lines = failure.cap_lines(
        [*record["failure_lines"], line], max_line_chars=ctx.settings.log_line_max_chars
    )
    return {**record, "failure_lines": lines}


def _runner_failure(
    ctx: WorkerContext,
    container: Container,
    *,
    exit_code: int | None,
    step: DeployStep | None = None,
) -> failure.FailureColumns:
    """The failure record from the runner's last lines (read now: the runner may go later)."""
    return failure.runner_failure(
        runner.output_tail(container, failure.TAIL_LINES),
        exit_code=exit_code,
        step=step,
        max_line_chars=ctx.settings.log_line_max_chars,
    )


def _mark_running(ctx: WorkerContext, job: Job) -> bool:
    with session_scope(ctx.sessions) as session:
        running = transition(session, deployment_id=job.deployment_id, to=DeploymentStatus.RUNNING)
    if running:
        announce(ctx, job.deployment_id, SUCCEEDED)
    return running


@dataclass(frozen=True, slots=True)
class Running:
    """A running deployment of one environment, as the supersede decision sees it."""

    id: str
    created_at: datetime


def to_supersede(mine: Running, others: Sequence[Running]) -> list[str]:
    """The ids of the deployments that yield when ``mine`` becomes running, oldest first.

    Two builds of one environment may finish out of order: of each pair, the one
    created first yields, so ``mine`` itself yields to a newer one already running.
    """
    yielding = {
        (older.created_at, older.id)
        for other in others
        for older in [other if other.created_at <= mine.created_at else mine]
    }
    return [deployment_id for _, deployment_id in sorted(yielding)]


def _yielding(session: Session, job: Job) -> list[str]:
    """The ids of the deployments that yield when the job's becomes running, oldest first:
    the environment's older running ones, or the job's own when a newer one runs."""
    mine = session.get(Deployment, job.deployment_id)
    if mine is None:  # deleted meanwhile: _mark_running says so, and the runner stops
        return []
    others = session.scalars(
        select(Deployment).where(
            Deployment.environment_id == job.environment_id,
            Deployment.status == DeploymentStatus.RUNNING,
            Deployment.id != job.deployment_id,
        )
    ).all()
    return to_supersede(
        Running(mine.id, mine.created_at), [Running(o.id, o.created_at) for o in others]
    )


def _supersede_previous(ctx: WorkerContext, job: Job) -> list[tuple[str, str]]:
    """Mark the yielding deployments superseded; each one's id and runner (name or id).

    The newest one stays running; the caller stops the others once the URLs moved."""
    superseded: list[tuple[str, str]] = []
    with session_scope(ctx.sessions) as session:
        for deployment_id in _yielding(session, job):
            if transition(session, deployment_id=deployment_id, to=DeploymentStatus.SUPERSEDED):
                older = _deployment(session, deployment_id)
                superseded.append(
                    (deployment_id, older.container_id or runner.container_name(older.id))
                )
    return superseded


def _deployment(session: Session, deployment_id: str) -> Deployment:
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise DeploymentGone(f"deployment {deployment_id} was deleted while it deployed")
    return deployment


def _canceled(ctx: WorkerContext, job: Job) -> bool:
    with ctx.sessions() as session:
        status = session.scalar(select(Deployment.status).where(Deployment.id == job.deployment_id))
    return status is not DeploymentStatus.BUILDING


def _update(ctx: WorkerContext, deployment_id: str, **values: object) -> None:
    with session_scope(ctx.sessions) as session:
        deployment = _deployment(session, deployment_id)
        for name, value in values.items():
            setattr(deployment, name, value)


def _mark_failed(
    ctx: WorkerContext,
    deployment_id: str,
    *,
    error: str,
    record: failure.FailureColumns | None = None,
) -> None:
    """The deployment becomes ``failed`` with ``error`` and the failure record, if any."""
    columns: Mapping[str, Any] = record or {}
    with session_scope(ctx.sessions) as session:
        failed = transition(
            session,
            deployment_id=deployment_id,
            to=DeploymentStatus.FAILED,
            error=error,
            **columns,
        )
    if failed:
        announce(ctx, deployment_id, FAILED)


def _stop(ctx: WorkerContext, container: Container) -> None:
    runners.stop_runner(ctx.docker, ctx.settings, container.id)


# Rollbacks and kept builds ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollbackSource:
    """The kept build a rollback deployment starts again."""

    deployment_id: str
    build_image: str
    commit_sha: str


def _rollback_source(ctx: WorkerContext, job: Job) -> RollbackSource | None:
    """The build the job's deployment rolls back to; None for a deploy."""
    with ctx.sessions() as session:
        deployment = _deployment(session, job.deployment_id)
        if deployment.rollback_of_id is None:
            return None
        target = session.get(Deployment, deployment.rollback_of_id)
        if target is None or target.build_image is None:
            raise DeployFailed("the build this rollback starts again is no longer kept")
        if ctx.settings.swarm and not registry.in_registry(
            ctx.settings.swarm_registry, target.build_image
        ):
            raise DeployFailed(
                registry.NO_REGISTRY
                if not ctx.settings.swarm_registry
                else "in swarm mode only a Dockerfile build pushed to the registry can be"
                " rolled back to; this build is kept on one host only"
            )
        return RollbackSource(target.id, target.build_image, target.commit_sha or "")


def _prepare_rollback_runner(
    ctx: WorkerContext, job: Job, source: RollbackSource
) -> Container | None:
    """Create the runner from the kept build (no clone, no source copy), start it."""
    if ctx.settings.swarm:
        try:  # the manager built it, unless its local copy went since: read its config
            registry.ensure_local(ctx.docker, source.build_image)
        except registry.RegistryError as exc:
            raise DeployFailed(str(exc)) from exc
    config = runner.image_config(ctx.docker, source.build_image)
    # A Dockerfile build is the builder's image, not a committed runner: its ENV is its
    # own (nothing to unset), its WORKDIR and CMD hold.
    built = runner.DOCKERFILE_BUILD_LABEL in (config.get("Labels") or {})
    spec = replace(
        _runner_spec(job, commit_sha=source.commit_sha, image=source.build_image),
        image_workdir=built,
    )
    # The current variables, not the ones the build recorded: a rollback undoes code,
    # not a changed secret (docs/rollback.md).
    environment = _runner_variables(ctx, job, spec)
    stale = runner.stale_variables(
        image_env=list(config.get("Env") or []),
        base_env=runner.image_env(ctx.docker, job.image),
        environment=environment,
    )
    start = job.steps.start
    if built:
        stale, start = [], start.strip() or runner.image_start_command(config)
    script = runner.rollback_script(
        deployment_id=source.deployment_id,
        commit_sha=source.commit_sha,
        start=start,
        unset=stale,
    )
    if ctx.settings.swarm:  # the task's host pulls the build from the registry
        container = _make_service(ctx, job, spec, environment, script=script)
    else:
        container = _create_container(
            ctx,
            job,
            spec,
            environment,
            image_missing="the build this rollback starts again is no longer kept",
        )
        _copy_in(container, runner.script_archive(script), what="run script")
    if _canceled(ctx, job):
        return None  # created, never started: the cleanup job removes it
    _start(container)
    return container


def _keep_build(ctx: WorkerContext, job: Job, container: Container) -> None:
    """Commit a deploy's ready runner to its build image, then collect older builds.

    After the switch, so serving never waits for it. A failure only loses the rollback
    to this deployment: logged, the deploy stays running. A rollback keeps no build of
    its own (its target's is the same).
    """
    if ctx.settings.swarm and (job.dockerfile is None or not ctx.settings.swarm_registry):
        return  # the task's container is on its host: no build any host could run is kept
    with ctx.sessions() as session:
        rollback_of = session.scalar(
            select(Deployment.rollback_of_id).where(Deployment.id == job.deployment_id)
        )
    if rollback_of is None:
        started = time.monotonic()
        try:
            # A Dockerfile build is already tagged as the deployment's build (in swarm
            # mode, its name in the registry: a rollback to it starts on any host).
            image = (
                _build_tag(ctx, job)
                if job.dockerfile is not None
                else runner.commit_build(
                    container,
                    project_id=job.project_id,
                    environment_id=job.environment_id,
                    deployment_id=job.deployment_id,
                )
            )
        except runner.DockerError as exc:
            log.warning("deployment %s: %s", job.deployment_id, exc)
        else:
            log.info(
                "deployment %s: build kept as %s in %.2f s",
                job.deployment_id,
                image,
                time.monotonic() - started,
            )
            try:
                _update(ctx, job.deployment_id, build_image=image)
            except DeploymentGone:
                builds.remove_build(ctx.docker, image)
                return
    with session_scope(ctx.sessions) as session:
        removed = builds.collect_builds(
            session,
            ctx.docker,
            environment_id=job.environment_id,
            keep=ctx.settings.rollback_builds_kept,
        )
    if removed:
        log.info("removed %d older builds: %s", len(removed), ", ".join(removed))
