"""The swarm's hosts over the API (admins only; swarm mode, ``DEVPUSH_SWARM=1``)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import Field

from devpush.api.schemas import ApiBody
from devpush.deps import ApiUser, DrainJobsDep, SettingsDep
from devpush.services.cluster.host_admin import (
    ADMINS_ONLY_CHANGE,
    Availability,
    HostChange,
    change_host,
)
from devpush.services.cluster.nodes import ADMINS_ONLY, Host, list_hosts

router = APIRouter(tags=["hosts"])


class HostUpdate(ApiBody):
    """A change to one host: labels to set (a value) or remove (``null``), and its
    availability (``drain`` moves its runners away, ``active`` takes new ones again)."""

    labels: dict[str, str | None] = Field(default_factory=dict, max_length=50)
    availability: Availability | None = None

    def change(self) -> HostChange:
        return HostChange(
            set_labels={key: value for key, value in self.labels.items() if value is not None},
            remove_labels=tuple(key for key, value in self.labels.items() if value is None),
            availability=self.availability,
        )


def _admin_only(user: ApiUser, refusal: str = ADMINS_ONLY) -> None:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)


# The answer is the service's `Host` field for field, as the page and the CLI show it.
@router.get("/hosts", response_model=list[Host])
def get_hosts(user: ApiUser, settings: SettingsDep) -> list[Host]:
    """The swarm's nodes with their state, labels, runners, CPU and memory."""
    _admin_only(user)
    # Swarm mode off: 404; the engine unreachable or no manager: 503 (DevpushError's).
    return list_hosts(settings)


@router.patch("/hosts/{host_ref}", response_model=Host)
def update_host(
    host_ref: str, body: HostUpdate, user: ApiUser, settings: SettingsDep, drains: DrainJobsDep
) -> Host:
    """Set or remove a host's labels, drain or activate it; the host afterwards.
    ``host_ref``: the node id, a unique prefix of it, or the host name."""
    _admin_only(user, ADMINS_ONLY_CHANGE)
    # A bad label 422, an unknown host or label 404, the last active host drained 409,
    # and 409 while the host's deployments are moving (its drain or failover runs).
    # A host with runners shows "pause" until the drain job moved them (then "drain").
    return change_host(settings, host_ref, body.change(), drains=drains)
