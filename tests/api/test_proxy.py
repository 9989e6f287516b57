"""What the proxy asks the app: may a host get a TLS certificate (on-demand TLS)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from huey import MemoryHuey
from sqlalchemy.orm import Session

from app.models import DeploymentStatus, Project
from app.services.deployments import create_deployment, transition
from app.services.routing import Route, write_routes
from app.workers.queue import DeployQueue

PERMISSION = "/internal/proxy/tls-permission"


def test_only_hosts_with_a_route_may_get_a_certificate(
    client: TestClient, session: Session, project: Project
) -> None:
    queue = DeployQueue(MemoryHuey(immediate=False))
    deployment = create_deployment(
        session, project=project, branch=None, created_by=None, queue=queue
    )
    for status in (DeploymentStatus.BUILDING, DeploymentStatus.RUNNING):
        transition(session, deployment_id=deployment.id, to=status)
    write_routes(session, [Route("shop.example.com", deployment.id, "10.0.0.7", 3000)])
    session.commit()

    assert client.get(PERMISSION, params={"domain": "shop.example.com"}).status_code == 200
    assert client.get(PERMISSION, params={"domain": "SHOP.example.com"}).status_code == 200
    refused = client.get(PERMISSION, params={"domain": "evil.example.net"})
    assert refused.status_code == 404
    # Bad input is a 4xx, never a 500; the endpoint is not in the API's docs.
    assert client.get(PERMISSION).status_code == 422
    assert client.get(PERMISSION, params={"domain": "x" * 300}).status_code == 422
    assert PERMISSION not in client.get("/api/openapi.json").text
