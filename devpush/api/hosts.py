"""The swarm's hosts over the API (admins only; swarm mode, ``DEVPUSH_SWARM=1``)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from devpush.deps import ApiUser, SettingsDep
from devpush.services.cluster.nodes import ADMINS_ONLY, Host, list_hosts

router = APIRouter(tags=["hosts"])


class HostPublic(BaseModel):
    id: str
    hostname: str
    #: The address the node advertises to the swarm.
    address: str
    #: ready, down, disconnected or unknown.
    state: str
    #: active, pause or drain.
    availability: str
    #: manager or worker.
    role: str
    labels: dict[str, str]
    #: Runner tasks running on the host now.
    runners: int
    #: CPU cores and memory the host's engine reports.
    cpus: float
    memory_bytes: int

    @classmethod
    def of(cls, host: Host) -> HostPublic:
        return cls(
            id=host.id,
            hostname=host.hostname,
            address=host.address,
            state=host.state,
            availability=host.availability,
            role=host.role,
            labels=host.labels,
            runners=host.runners,
            cpus=host.cpus,
            memory_bytes=host.memory_bytes,
        )


@router.get("/hosts", response_model=list[HostPublic])
def get_hosts(user: ApiUser, settings: SettingsDep) -> list[HostPublic]:
    """The swarm's nodes with their state, labels, runners, CPU and memory."""
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, ADMINS_ONLY)
    # Swarm mode off: 404; the engine unreachable or no manager: 503 (DevpushError's).
    return [HostPublic.of(host) for host in list_hosts(settings)]
