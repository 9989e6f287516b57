"""What the proxy asks the app: may a host get a TLS certificate (on-demand TLS)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from devpush.models import DeploymentStatus, Project
from devpush.services.proxy_table import HostEntry, write_table
from tests.fixtures.db import add_deployment

PERMISSION = "/internal/proxy/tls-permission"


def test_only_hosts_with_a_route_may_get_a_certificate(
    client: TestClient, session: Session, project: Project
) -> None:
    deployment = add_deployment(
        session, project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING
    )
    write_table(session, [HostEntry("shop.example.com", deployment, "10.0.0.7", 3000)])
    session.commit()

    assert client.get(PERMISSION, params={"domain": "shop.example.com"}).status_code == 200
    assert client.get(PERMISSION, params={"domain": "SHOP.example.com"}).status_code == 200
    refused = client.get(PERMISSION, params={"domain": "evil.example.net"})
    assert refused.status_code == 404
    # Bad input is a 4xx, never a 500; the endpoint is not in the API's docs.
    assert client.get(PERMISSION).status_code == 422
    assert client.get(PERMISSION, params={"domain": "x" * 300}).status_code == 422
    assert PERMISSION not in client.get("/api/openapi.json").text
