"""The admins' Hosts page: the swarm's nodes; a notice when swarm mode is off."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush_dev.engines import Swarm
from tests.fixtures.web import Member, make_admin


@pytest.mark.swarm
@pytest.mark.docker
def test_an_admin_sees_the_hosts_page(
    swarm_mode: Swarm, client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    refused = client.get("/settings/hosts")
    assert refused.status_code == 403
    assert "only a server administrator can list hosts" in refused.text
    assert 'href="/settings/hosts"' not in client.get("/projects").text

    make_admin(sessions, alice.user_id)
    assert 'href="/settings/hosts"' in client.get("/projects").text
    page = client.get("/settings/hosts")

    assert page.status_code == 200, page.text
    for engine in swarm_mode.engines:
        assert f'id="host-{engine.node_id}"' in page.text
        assert engine.hostname in page.text and str(engine.address) in page.text


def test_swarm_mode_off_shows_a_notice_and_no_link(
    client: TestClient, alice: Member, sessions: sessionmaker[Session]
) -> None:
    make_admin(sessions, alice.user_id)
    assert 'href="/settings/hosts"' not in client.get("/projects").text
    page = client.get("/settings/hosts")
    assert page.status_code == 404
    assert "DEVPUSH_SWARM=1" in page.text


@pytest.mark.swarm
@pytest.mark.docker
def test_an_admin_labels_drains_and_activates_a_host_on_the_page(
    swarm_mode: Swarm,
    client: TestClient,
    alice: Member,
    csrf: str,
    sessions: sessionmaker[Session],
) -> None:
    node_2 = swarm_mode.engines[1]
    base = f"/settings/hosts/{node_2.node_id}"
    refused = client.post(
        f"{base}/availability", data={"availability": "drain", "csrf_token": csrf}
    )
    assert refused.status_code == 403
    assert "only a server administrator can change hosts" in refused.text
    make_admin(sessions, alice.user_id)

    # The page offers the forms.
    page = client.get("/settings/hosts")
    assert f'action="{base}/labels"' in page.text
    assert f'action="{base}/availability"' in page.text

    added = client.post(
        f"{base}/labels", data={"label": "zone=eu", "csrf_token": csrf}, follow_redirects=False
    )
    assert added.status_code == 303 and added.headers["location"] == "/settings/hosts"
    drained = client.post(
        f"{base}/availability", data={"availability": "drain", "csrf_token": csrf}
    )
    assert drained.status_code == 200
    row = drained.text.split(f'id="host-{node_2.node_id}"')[1].split("</tr>")[0]
    assert "<code>zone=eu</code>" in row and "drain" in row and ">Activate<" in row

    bad = client.post(f"{base}/labels", data={"label": "zone", "csrf_token": csrf})
    assert bad.status_code == 422
    assert "a label is key=value, like zone=eu" in bad.text

    client.post(f"{base}/labels/remove", data={"key": "zone", "csrf_token": csrf})
    activated = client.post(
        f"{base}/availability", data={"availability": "active", "csrf_token": csrf}
    )
    row = activated.text.split(f'id="host-{node_2.node_id}"')[1].split("</tr>")[0]
    assert "<code>zone=eu</code>" not in row and ">Drain<" in row

    # Without the CSRF token nothing changes.
    forged = client.post(f"{base}/availability", data={"availability": "drain"})
    assert forged.status_code == 403
