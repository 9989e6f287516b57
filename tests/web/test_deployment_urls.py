"""Live addresses in the UI: a running deployment shows its URL and its environment's;
failed, stopped and superseded ones show none (no dead links)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import DeploymentStatus
from tests.fixtures.web import Member, move


def test_a_running_deployment_shows_its_url_and_its_environments(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    move(sessions, alice.deployment_id, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)
    own = f"http://{alice.deployment_id[:8]}-shop.localhost:8080/"
    page = client.get(f"/projects/shop/deployments/{alice.deployment_id}").text
    assert f'<a class="live-url" href="{own}"' in page
    assert '<a class="live-url" href="http://shop.localhost:8080/"' in page
    project = client.get("/projects/shop").text
    assert '<a class="live-url" href="http://shop.localhost:8080/"' in project  # environments
    assert f'<a class="live-url" href="{own}"' in project  # latest deployments


@pytest.mark.parametrize(
    "path",
    [
        (DeploymentStatus.BUILDING, DeploymentStatus.FAILED),
        (DeploymentStatus.BUILDING, DeploymentStatus.RUNNING, DeploymentStatus.STOPPED),
        (DeploymentStatus.BUILDING, DeploymentStatus.RUNNING, DeploymentStatus.SUPERSEDED),
    ],
    ids=["failed", "stopped", "superseded"],
)
def test_a_deployment_that_no_longer_runs_shows_no_address(
    client: TestClient,
    alice: Member,
    sessions: sessionmaker[Session],
    path: tuple[DeploymentStatus, ...],
) -> None:
    # host_port: a row written before runners stopped publishing ports keeps one.
    move(sessions, alice.deployment_id, *path, host_port=41234)
    page = client.get(f"/projects/shop/deployments/{alice.deployment_id}").text
    assert f'data-status="{path[-1].value}"' in page
    assert "live-url" not in page
    assert "41234" not in page
    project = client.get("/projects/shop").text
    assert "live-url" not in project
    assert "not running" in project
