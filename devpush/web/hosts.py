"""The swarm's hosts for admins (swarm mode): state, labels, runners, CPU and memory."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from devpush.deps import SettingsDep, WebCtx
from devpush.services.cluster.nodes import ADMINS_ONLY, Host, SwarmOff, SwarmUnavailable, list_hosts
from devpush.web.rendering import render

router = APIRouter(tags=["hosts"])


@router.get("/settings/hosts")
def hosts_page(request: Request, ctx: WebCtx, settings: SettingsDep) -> Response:
    if not ctx.user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, ADMINS_ONLY)
    hosts: list[Host] = []
    error = ""
    try:
        hosts = list_hosts(settings)
    except SwarmOff:
        return render(request, "hosts/pages/hosts.html", {"swarm_off": True}, status_code=404)
    except SwarmUnavailable as exc:
        error = str(exc)
    return render(
        request,
        "hosts/pages/hosts.html",
        {"hosts": hosts, "error": error},
        status_code=503 if error else 200,
    )
