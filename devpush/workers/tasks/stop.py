"""Jobs that stop runners: a canceled deployment's, and the cleanup of old stopped ones."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

import docker.errors
from docker.errors import NotFound
from sqlalchemy import select

from devpush.core.db import session_scope
from devpush.models import Deployment, Project
from devpush.services import build_cache, builds, networks, runner, runners
from devpush.services.cluster import runner_services
from devpush.workers.tasks.context import WorkerContext

log = logging.getLogger(__name__)


def run_stop(deployment_id: str, *, ctx: WorkerContext) -> None:
    """Stop the deployment's runner (kept, so Alloy ships its last lines); idempotent.

    Its host entries go first (the row is no longer running): the proxy answers 404, never
    a bad gateway, for a stopped deployment.
    """
    with ctx.sessions() as session:
        deployment = session.get(Deployment, deployment_id)
        container_id = deployment.container_id if deployment is not None else None
    ctx.proxy_table.refresh(ctx)
    runners.stop_runner(
        ctx.docker, ctx.settings, container_id or runner.container_name(deployment_id)
    )
    if deployment is None:
        # Deleted with its environment or project: nothing will show it again.
        remove_runner(ctx, container_id or runner.container_name(deployment_id))
        builds.remove_deployment_builds(ctx.docker, deployment_id)
        remove_deleted_networks(ctx)


def remove_deleted_networks(ctx: WorkerContext) -> None:
    """Remove the runner networks and build cache volumes of deleted projects (one still
    in use waits for the next cleanup)."""
    with ctx.sessions() as session:
        live = set(session.scalars(select(Project.id)))
    cleanups = (
        ("runner networks", networks.remove_orphan_networks),
        ("build cache volumes", build_cache.remove_orphan_volumes),
    )
    for what, remove_orphans in cleanups:
        try:
            removed = remove_orphans(ctx.docker, ctx.settings, live)
        except docker.errors.APIError as exc:
            log.error("%s not cleaned up: %s", what, exc)
            return
        if removed:
            log.info("removed the %s of %d deleted projects", what, len(removed))


def remove_runner(ctx: WorkerContext, id_or_name: str) -> None:
    """Remove a runner container (stopped or not); a missing one is fine."""
    if ctx.settings.swarm:
        runner_services.remove_runner_service(ctx.docker, id_or_name)
        return
    container = runner.get_container(ctx.docker, id_or_name)
    if container is not None:
        with contextlib.suppress(NotFound):  # removed meanwhile
            container.remove(force=True)
        log.info("removed runner %s of a deleted deployment", id_or_name)


def run_cleanup(*, ctx: WorkerContext) -> list[str]:
    """Remove runners that stopped longer ago than ``runner_cleanup_after_seconds``, and
    each environment's builds beyond the newest ``rollback_builds_kept``."""
    older_than = timedelta(seconds=ctx.settings.runner_cleanup_after_seconds)
    if ctx.settings.swarm:
        removed = runner_services.remove_ended_services(ctx.docker, older_than=older_than)
    else:
        removed = runner.remove_stopped_runners(ctx.docker, older_than=older_than)
    if removed:
        log.info("removed %d stopped runner containers", len(removed))
    remove_deleted_networks(ctx)
    with session_scope(ctx.sessions) as session:
        collected = builds.collect_all_builds(
            session, ctx.docker, keep=ctx.settings.rollback_builds_kept
        )
    if collected:
        log.info("removed %d older builds", len(collected))
    return removed
