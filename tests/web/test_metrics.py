"""The deployment page's metrics panel: loaded by htmx, SVG charts, a range, team-scoped."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import DeploymentStatus
from tests.api.samples import sampled
from tests.fixtures.web import TwoTeams, log_in, move


def panel_url(two_teams: TwoTeams) -> str:
    alice = two_teams.alice
    return f"/projects/{alice.project_slug}/deployments/{alice.deployment_id}/metrics"


def test_the_page_loads_the_panel_and_the_panel_draws_the_charts(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice
    move(sessions, alice.deployment_id, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)
    sampled(sessions, alice.deployment_id, timedelta(minutes=3), timedelta(minutes=2))
    log_in(client, alice.email)
    page = client.get(f"/projects/{alice.project_slug}/deployments/{alice.deployment_id}")
    assert page.status_code == 200
    assert f'hx-get="{panel_url(two_teams)}" hx-trigger="load"' in page.text

    panel = client.get(panel_url(two_teams), headers={"HX-Request": "true"})
    assert panel.status_code == 200, panel.text
    html = panel.text
    # A running deployment's panel asks for itself again every sampling interval.
    assert f'hx-get="{panel_url(two_teams)}?range=1h" hx-trigger="every 15s"' in html
    assert 'data-samples="2"' in html
    for key in ("cpu", "memory", "network"):
        assert f'id="metric-{key}"' in html
    # Two points per line: the CPU, the memory; the network's rates need two samples: one.
    cpu = re.search(r'class="series series-cpu" points="([^"]+)"', html)
    assert cpu is not None and len(cpu.group(1).split()) == 2
    assert "0.20 cores" in html
    assert "2.0 KiB" in html  # the newest memory figure, 2000 bytes
    assert 'class="series series-rx"' in html


def test_a_range_and_an_ended_deployment(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice
    move(
        sessions,
        alice.deployment_id,
        DeploymentStatus.BUILDING,
        DeploymentStatus.RUNNING,
        DeploymentStatus.STOPPED,
    )
    sampled(sessions, alice.deployment_id, timedelta(hours=5))
    log_in(client, alice.email)
    hour = client.get(panel_url(two_teams))
    assert "No samples in this range." in hour.text
    assert "every" not in hour.text  # no refresh once it stopped
    six = client.get(panel_url(two_teams), params={"range": "6h"})
    assert 'data-range="6h"' in six.text and 'data-samples="1"' in six.text
    bad = client.get(panel_url(two_teams), params={"range": "7d"})
    assert bad.status_code == 422
    assert "range must be one of 15m, 1h, 6h, 24h" in bad.text


def test_another_team_gets_404(client: TestClient, two_teams: TwoTeams) -> None:
    log_in(client, two_teams.bob.email)
    assert client.get(panel_url(two_teams)).status_code == 404
