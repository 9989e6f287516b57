"""The admins' Hosts page: the swarm's nodes; a notice when swarm mode is off."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush_dev.engines import Swarm
from tests.fixtures.web import TwoTeams, log_in, make_admin


@pytest.mark.swarm
@pytest.mark.docker
def test_an_admin_sees_the_hosts_page(
    swarm_mode: Swarm, client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    log_in(client, two_teams.alice.email)
    refused = client.get("/settings/hosts")
    assert refused.status_code == 403
    assert "only a server administrator can list hosts" in refused.text
    assert 'href="/settings/hosts"' not in client.get("/projects").text

    make_admin(sessions, two_teams.alice.user_id)
    assert 'href="/settings/hosts"' in client.get("/projects").text
    page = client.get("/settings/hosts")

    assert page.status_code == 200, page.text
    for engine in swarm_mode.engines:
        assert f'id="host-{engine.node_id}"' in page.text
        assert engine.hostname in page.text and str(engine.address) in page.text


def test_swarm_mode_off_shows_a_notice_and_no_link(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    make_admin(sessions, two_teams.alice.user_id)
    log_in(client, two_teams.alice.email)
    assert 'href="/settings/hosts"' not in client.get("/projects").text
    page = client.get("/settings/hosts")
    assert page.status_code == 404
    assert "DEVPUSH_SWARM=1" in page.text
