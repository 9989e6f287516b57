"""What the reverse proxy asks the app: whether a host may get a TLS certificate.

Caddy's on-demand TLS (https only, ``proxy_config.build_config``) asks before it requests a
certificate for a host at its first handshake; only hosts in the proxy table may have
one, so nobody can make Caddy request certificates for names devpush does not serve.
Not part of the API (no version, no docs): the proxy is its only client.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Response

from devpush.deps import SessionDep
from devpush.services import proxy_table

router = APIRouter(prefix="/internal/proxy", include_in_schema=False)


@router.get("/tls-permission")
def tls_permission(
    session: SessionDep, domain: str = Query(min_length=1, max_length=253)
) -> Response:
    """200 when a route serves ``domain`` (Caddy may get it a certificate), 404 otherwise."""
    if proxy_table.entry_of(session, domain) is None:
        raise HTTPException(status_code=404, detail="no deployment is at this host")
    return Response(status_code=200)
