"""The swarm's hosts for admins (swarm mode): state, labels, runners, CPU and memory; an
admin sets and removes a host's labels, drains it and activates it again."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from devpush.core.errors import DevpushError
from devpush.deps import DrainJobsDep, SettingsDep, WebCtx
from devpush.services.cluster.host_admin import (
    ADMINS_ONLY_CHANGE,
    AVAILABILITIES,
    Availability,
    BadHostChange,
    HostChange,
    change_host,
    check_label_key,
    parse_label,
)
from devpush.services.cluster.nodes import ADMINS_ONLY, Host, SwarmOff, SwarmUnavailable, list_hosts
from devpush.services.jobs import HostDrainJobs
from devpush.web.rendering import redirect, render

router = APIRouter(tags=["hosts"])
PAGE = "/settings/hosts"


def _page(
    request: Request,
    settings: SettingsDep,
    *,
    failed: str = "",
    failed_host: str = "",
    code: int = 200,
) -> Response:
    """The page; ``failed``: why the last change to ``failed_host`` was refused."""
    hosts: list[Host] = []
    error = ""
    try:
        hosts = list_hosts(settings)
    except SwarmOff:
        return render(request, "hosts/pages/hosts.html", {"swarm_off": True}, status_code=404)
    except SwarmUnavailable as exc:
        error = str(exc)
    context = {
        "hosts": hosts,
        "error": error,
        "availabilities": AVAILABILITIES,
        "change_error": failed,
        "change_host": failed_host,
    }
    return render(request, "hosts/pages/hosts.html", context, status_code=503 if error else code)


@router.get(PAGE)
def hosts_page(request: Request, ctx: WebCtx, settings: SettingsDep) -> Response:
    if not ctx.user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, ADMINS_ONLY)
    return _page(request, settings)


async def _apply(
    request: Request,
    ctx: WebCtx,
    settings: SettingsDep,
    host_id: str,
    field: str,
    drains: HostDrainJobs | None = None,
) -> Response:
    """Read ``field`` from the form, make it a change, apply it; the page again with the
    reason when it is refused, else back to the page."""
    if not ctx.user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, ADMINS_ONLY_CHANGE)
    value = str((await request.form()).get(field, "")).strip()
    try:
        if field == "availability":
            if value not in AVAILABILITIES:
                raise BadHostChange(f"availability must be one of {', '.join(AVAILABILITIES)}")
            change = HostChange(availability=cast(Availability, value))
        elif field == "label":
            key, label_value = parse_label(value)
            change = HostChange(set_labels={key: label_value})
        else:
            change = HostChange(remove_labels=(check_label_key(value),))
        change_host(settings, host_id, change, drains=drains)
    except SwarmOff:
        return _page(request, settings)
    except DevpushError as exc:
        return _page(
            request, settings, failed=exc.message, failed_host=host_id, code=exc.http_status
        )
    return redirect(request, PAGE)


@router.post(PAGE + "/{host_id}/availability")
async def set_availability(
    request: Request, ctx: WebCtx, settings: SettingsDep, host_id: str, drains: DrainJobsDep
) -> Response:
    # A host with runners is paused until the drain job moved them (then drained).
    return await _apply(request, ctx, settings, host_id, "availability", drains)


@router.post(PAGE + "/{host_id}/labels")
async def add_label(request: Request, ctx: WebCtx, settings: SettingsDep, host_id: str) -> Response:
    return await _apply(request, ctx, settings, host_id, "label")


@router.post(PAGE + "/{host_id}/labels/remove")
async def remove_label(
    request: Request, ctx: WebCtx, settings: SettingsDep, host_id: str
) -> Response:
    return await _apply(request, ctx, settings, host_id, "key")
