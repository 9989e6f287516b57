"""The swarm's hosts over the API (admins only; swarm mode, ``DEVPUSH_SWARM=1``)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict

from devpush.deps import ApiUser, SettingsDep
from devpush.services.cluster.nodes import ADMINS_ONLY, list_hosts

router = APIRouter(tags=["hosts"])


class HostPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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


@router.get("/hosts", response_model=list[HostPublic])
def get_hosts(user: ApiUser, settings: SettingsDep) -> list[HostPublic]:
    """The swarm's nodes with their state, labels, runners, CPU and memory."""
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, ADMINS_ONLY)
    # Swarm mode off: 404; the engine unreachable or no manager: 503 (DevpushError's).
    return [HostPublic.model_validate(host) for host in list_hosts(settings)]
