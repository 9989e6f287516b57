"""Kept builds: the images the worker commits from ready runners, and their collection.

Each deployment that reached ``running`` keeps its build as a local image
(``devpush-build/<project id>:<deployment id>``, see ``devpush.services.runner``), so a
rollback starts it again without a rebuild. Only the newest ``rollback_builds_kept``
builds of each environment (by deployment creation) are kept; the worker collects the
others after each deploy and in its hourly cleanup, never one that a running or
starting deployment uses.
"""

from __future__ import annotations

import logging

import docker
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from devpush.models import Deployment, DeploymentStatus, Environment
from devpush.services import runner
from devpush.services.cluster import registry

log = logging.getLogger(__name__)

#: A deployment in these statuses uses its build (or its rollback target's).
_USING = (DeploymentStatus.QUEUED, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)


def images_in_use(session: Session, environment_id: str) -> set[str]:
    """The build images the environment's live deployments run (their own or, for a
    rollback, its target's)."""
    target = aliased(Deployment)
    rows = session.execute(
        select(Deployment.build_image, target.build_image)
        .outerjoin(target, Deployment.rollback_of_id == target.id)
        .where(Deployment.environment_id == environment_id, Deployment.status.in_(_USING))
    ).all()
    return {image for row in rows for image in row if image is not None}


def collect_builds(
    session: Session, client: docker.DockerClient, *, environment_id: str, keep: int
) -> list[str]:
    """Remove the environment's builds older than its newest ``keep``; their names.

    Their rows lose ``build_image``; the caller commits.
    """
    kept = session.scalars(
        select(Deployment)
        .where(Deployment.environment_id == environment_id, Deployment.build_image.is_not(None))
        .order_by(Deployment.created_at.desc(), Deployment.id.desc())
    ).all()
    in_use = images_in_use(session, environment_id)
    removed = []
    for deployment in kept[keep:]:
        image = deployment.build_image
        if image is None or image in in_use:
            continue
        try:
            gone = remove_build(client, image)
        except runner.DockerError as exc:
            log.warning("%s", exc)
            continue
        if gone:
            deployment.build_image = None
            removed.append(image)
    return removed


def remove_build(client: docker.DockerClient, image: str) -> bool:
    """Remove a kept build from the engine and, for a build in swarm mode's registry, from
    the registry too (a registry that cannot be asked is logged: only space is lost);
    False when a running container still uses it."""
    if not runner.remove_image(client, image):
        return False
    if registry.registry_of(image) is not None:
        try:
            registry.delete(image)
        except registry.RegistryError as exc:
            log.warning("%s", exc)
    return True


def collect_all_builds(session: Session, client: docker.DockerClient, *, keep: int) -> list[str]:
    """:func:`collect_builds` for every environment; commits after each."""
    removed = []
    for environment_id in session.scalars(select(Environment.id)).all():
        removed += collect_builds(session, client, environment_id=environment_id, keep=keep)
        session.commit()
    return removed


def remove_deployment_builds(client: docker.DockerClient, deployment_id: str) -> list[str]:
    """Remove a deleted deployment's build image (its project or environment went)."""
    removed = []
    for image in runner.build_images(client, labels={runner.DEPLOYMENT_BUILD_LABEL: deployment_id}):
        try:
            if remove_build(client, image):
                removed.append(image)
        except runner.DockerError as exc:
            log.warning("%s", exc)
    return removed
