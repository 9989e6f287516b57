"""Each build-command project's cache volume: pip's, npm's and uv's downloads survive
between deploys (docs/builds.md).

The runner mounts it at ``runner.CACHE_DIR`` with the package managers' cache variables
pointing below it (``runner.CACHE_ENVIRONMENT``). Dockerfile builds get none: the
builder's own layer cache serves them. A deleted project's volume goes with its network.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection

import docker
from docker.errors import APIError, NotFound

from devpush.core.config import Settings
from devpush.core.labels import ROLE_LABEL
from devpush.services.project_resources import PROJECT_RESOURCE_LABEL, orphaned

#: The role label of a project's cache volume (its project in ``devpush.project_id``).
CACHE_ROLE = "build-cache"
PROJECT_CACHE_LABEL = PROJECT_RESOURCE_LABEL


def volume_name(settings: Settings, project_id: str) -> str:
    """``<runner_network>-cache-<project id>``: this install's prefix, like its networks."""
    return f"{settings.runner_network}-cache-{project_id}"


def ensure_volume(client: docker.DockerClient, settings: Settings, project_id: str) -> str:
    """The project's cache volume, created (labelled) when missing; its name."""
    name = volume_name(settings, project_id)
    try:
        client.volumes.get(name)
    except NotFound:
        with contextlib.suppress(APIError):  # created meanwhile by another deploy
            client.volumes.create(
                name, labels={ROLE_LABEL: CACHE_ROLE, PROJECT_CACHE_LABEL: project_id}
            )
    return name


def remove_orphan_volumes(
    client: docker.DockerClient, settings: Settings, live_projects: Collection[str]
) -> list[str]:
    """Remove the cache volumes of projects no longer in ``live_projects``; their names
    (one a container still uses stays for the next cleanup)."""
    removed = []
    volumes = client.volumes.list(filters={"label": f"{ROLE_LABEL}={CACHE_ROLE}"})
    for volume in orphaned(volumes, prefix=volume_name(settings, ""), live_projects=live_projects):
        try:
            volume.remove()
        except NotFound:
            continue
        except APIError:
            continue
        removed.append(volume.name)
    return removed
