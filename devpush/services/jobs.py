"""What the services ask of the worker: the jobs they enqueue.

The queue itself (``devpush.workers.queue.DeployQueue``, over huey) sits in the worker
layer, above the services; the services only know this protocol, so they never
import the worker and the web app passes its queue in (``devpush.deps.get_queue``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class DeployJobs(Protocol):
    """Enqueues the worker's jobs for one deployment; both return once enqueued."""

    def enqueue_deploy(self, deployment_id: str) -> None:
        """Run the deployment: claim it, build its runner, follow it to ``running``."""

    def enqueue_stop(self, deployment_id: str) -> None:
        """Stop the deployment's runner (and remove it when its row is gone)."""


@dataclass(frozen=True)
class Notice:
    """One notify job: a deployment's ``event`` to every channel of its project that wants
    it, or (a retry) try ``attempt`` at one channel, under the first try's ``delivery`` id."""

    deployment_id: str
    event: str
    channel_id: str | None = None
    attempt: int = 1
    delivery: str | None = None


class NotifyJobs(Protocol):
    """Enqueues the notify job: a deployment's end, to its project's channels."""

    def enqueue_notify(self, notice: Notice, *, delay: float = 0) -> None:
        """Send the notice (a retry: after ``delay`` s)."""


class DomainJobs(Protocol):
    """Enqueues the custom-domain jobs (``devpush.services.domains``)."""

    def enqueue_domain_check(self, domain_id: str, *, delay: float = 0) -> None:
        """Check the domain's DNS (after ``delay`` s); a verified one is routed at once."""

    def enqueue_routes_refresh(self) -> None:
        """Write the proxy table again from the rows (a removed domain's entry goes)."""


class HostDrainJobs(Protocol):
    """Enqueues the drain job of a swarm host (``devpush.services.cluster.host_admin``)."""

    def enqueue_drain(self, node_id: str) -> None:
        """Move the host's running deployments elsewhere (each with the usual switch),
        then set its availability to ``drain``. A ``Conflict`` (409) while the host's
        deployments are moving already (its drain, or its failover when it is down)."""
