"""An environment's replica count: how many runners each of its deployments runs.

Swarm mode only (``DEVPUSH_SWARM=1``): the tasks of one deployment spread over the
hosts, and the proxy routes to every live one, so its URL keeps answering when a host
fails (docs/scaling.md). A single server runs one runner per deployment. A change
applies from the environment's next deployment.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session

from devpush.core.config import Settings
from devpush.core.errors import Conflict, InvalidInput
from devpush.models import Environment, Project
from devpush.services.project_settings import find_environment

MIN_REPLICAS: Final = 1
#: Enough to outlast several hosts failing at once; more is a load balancer's job.
MAX_REPLICAS: Final = 10


class ReplicasNeedSwarmError(Conflict):
    """More than one replica on a single server."""


class ReplicasOutOfRangeError(InvalidInput):
    """A replica count outside 1-10."""


def check_replicas(replicas: int, settings: Settings) -> None:
    """Refuse a count out of range, or above one without swarm mode."""
    if not MIN_REPLICAS <= replicas <= MAX_REPLICAS:
        raise ReplicasOutOfRangeError(
            f"replicas must be between {MIN_REPLICAS} and {MAX_REPLICAS}, not {replicas}"
        )
    if replicas > 1 and not settings.swarm:
        raise ReplicasNeedSwarmError(
            "replicas need swarm mode (several hosts): this server runs one runner per deployment"
        )


def set_replicas(
    session: Session, *, project: Project, ref: str, replicas: int, settings: Settings
) -> Environment:
    """Set an environment's (by name or id) replica count, from its next deployment."""
    environment = find_environment(session, project=project, ref=ref)
    check_replicas(replicas, settings)
    environment.replicas = replicas
    session.commit()
    return environment
