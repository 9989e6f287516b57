"""The health check's restart of a runner in swarm mode: new tasks of its service.

On one server the restart reuses the runner's container (its built files, its address).
A task's container is on whatever host ran it and a new task is a fresh container. When
its image holds the app (a Dockerfile build or a rollback, from the registry), the new
task starts the app again with the restart script. Otherwise it is a fresh container of
the runner image, so the restart offers the deployment's source again: the exact commit it
runs, fetched with the project's credentials, with a script that builds again, skips the
pre-deploy step (it ran before the first start) and starts the app. The service's
environment gets the fresh one-time token, and that update makes Swarm replace each task
(as many as the service runs). The caller then points the proxy table at the new task.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import docker.errors

from devpush.core.crypto import DecryptionError, fernet_for
from devpush.core.errors import Unavailable
from devpush.models import Deployment
from devpush.services import runner
from devpush.services.cluster import runner_services
from devpush.services.git import GitError, fetch_commit, local_roots
from devpush.services.project_git import project_credentials
from devpush.workers.tasks.context import WorkerContext


class RestartFailed(Unavailable):
    """The new tasks could not be made or did not run; ``str()`` is fit to show a user."""


def restart_archive(ctx: WorkerContext, deployment_id: str, *, reason: str) -> bytes:
    """The deployment's commit and the restart script, as the task unpacks them at ``/``."""
    with ctx.sessions() as session:
        deployment = session.get(Deployment, deployment_id)
        if deployment is None or not deployment.commit_sha:
            raise LookupError(f"deployment {deployment_id} has no commit to restart from")
        project = deployment.project
        credentials = project_credentials(
            project, fernet_for(ctx.settings.secret_key.get_secret_value())
        )
        repo_url, branch, sha = project.repo_url, deployment.branch, deployment.commit_sha
        steps = runner.Steps(
            build=project.build_command,
            pre_deploy=project.pre_deploy_command,
            start=project.start_command,
        )
    with tempfile.TemporaryDirectory(prefix="devpush-restart-") as tmp:
        checkout = Path(tmp) / "src"
        fetch_commit(
            url=repo_url,
            branch=branch,
            dest=checkout,
            commit=sha,
            roots=local_roots(ctx.settings),
            credentials=credentials,
        )
        script = runner.task_restart_script(steps=steps, reason=reason)
        return runner.source_archive(source_dir=checkout, script=script)


def image_start(ctx: WorkerContext, deployment_id: str, service: dict[str, Any]) -> str:
    """The start command of a task whose image holds the app: the project's, or the
    image's own (its entrypoint and command, as the first start used)."""
    with ctx.sessions() as session:
        deployment = session.get(Deployment, deployment_id)
        start = deployment.project.start_command.strip() if deployment is not None else ""
    if start:
        return start
    image = str(service["Spec"]["TaskTemplate"]["ContainerSpec"].get("Image", ""))
    start = runner.image_start_command(runner.image_config(ctx.docker, image))
    if not start:
        raise LookupError("the image has no CMD and the project sets no start command")
    return start


def restart_task(ctx: WorkerContext, deployment_id: str, service_ref: str, *, reason: str) -> None:
    """Replace the deployment's tasks with new ones that fetch its source again; returns
    once one of them runs. :class:`RestartFailed` says why it could not (git, Swarm, a new
    task that ended at once: the next check then finds it stopped)."""
    settings = ctx.settings
    try:
        service = ctx.docker.api.inspect_service(service_ref)
        if not runner_services.fetches_source(service):
            # Its image holds the built app (a Dockerfile build or a rollback, pulled from
            # the registry): the app starts again in a new task, nothing is fetched.
            script = runner.restart_script(
                start=image_start(ctx, deployment_id, service), reason=reason
            )
            runner_services.restart_runner_service(
                ctx.docker,
                service["ID"],
                network=runner_services.service_network(settings, service),
                script=script,
                timeout=settings.runner_ready_timeout_seconds,
            )
            return
        archive = restart_archive(ctx, deployment_id, reason=reason)
        url, token = ctx.sources.offer(
            settings.swarm_source_address,
            archive,
            ttl_seconds=settings.runner_ready_timeout_seconds,
            uses=max(1, runner_services.replicas_of(service)),
        )
        runner_services.restart_runner_service(
            ctx.docker,
            service["ID"],
            network=runner_services.service_network(settings, service),
            source_url=url,
            source_token=token,
            timeout=settings.runner_ready_timeout_seconds,
        )
    except (GitError, DecryptionError, runner_services.ServiceError, LookupError) as exc:
        raise RestartFailed(str(exc)) from exc
    except docker.errors.APIError as exc:
        raise RestartFailed(f"Swarm refused to restart the runner: {exc.explanation}") from exc
