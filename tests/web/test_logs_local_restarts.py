"""The log views say when a part of the local run restarted, read from a real supervisord."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devpush.core.config import Settings
from devpush_dev.supervisor import MAIN_LOG, Program, Supervisord, socket_url
from tests.fixtures.logstack import LogStack
from tests.fixtures.web import TwoTeams, log_in

pytestmark = pytest.mark.docker


@pytest.fixture
def supervisord(tmp_path: Path) -> Iterator[Supervisord]:
    """supervisord with one program named like the local run's collector."""
    state = tmp_path / "sv"
    state.mkdir()
    with Supervisord(
        state,
        [Program(name="collector", argv=["sleep", "600"], log_path=state / "c.log", priority=10)],
    ) as running:
        yield running


@pytest.fixture
def log_store_url(running_log_stack: LogStack) -> str:
    """A store that answers, so the API gives a page (and the notice beside it)."""
    return running_log_stack.store_url


@pytest.fixture
def settings(settings: Settings, supervisord: Supervisord) -> Settings:
    return settings.model_copy(update={"local_supervisor_url": socket_url(supervisord.state)})


def killed_and_restarted(supervisord: Supervisord, name: str) -> None:
    deadline = time.monotonic() + 20
    while supervisord.info(name)["statename"] != "RUNNING":
        assert time.monotonic() < deadline, f"{name} never ran"
        time.sleep(0.1)
    os.kill(supervisord.info(name)["pid"], signal.SIGKILL)
    while (
        "spawned: 'collector'"
        not in (supervisord.state / MAIN_LOG).read_text().split("not expected)")[-1]
    ):
        assert time.monotonic() < deadline, "not restarted"
        time.sleep(0.1)


def test_the_views_name_the_part_that_restarted(
    client: TestClient, two_teams: TwoTeams, supervisord: Supervisord
) -> None:
    alice = two_teams.alice
    log_in(client, alice.email)
    base = f"/projects/{alice.project_slug}/logs"
    assert "data-local-restart-notice" not in client.get(base).text
    killed_and_restarted(supervisord, "collector")
    for html in (
        client.get(base).text,
        client.get(
            f"{base}/panel?deployment={alice.deployment_id}", headers={"HX-Request": "true"}
        ).text,
    ):
        assert "data-local-restart-notice" in html, html
        assert "collector (signal 9, " in html, html
    api = client.get(
        f"/api/v1/projects/{alice.project_slug}/logs",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert api.status_code == 200, api.text
    assert "collector (signal 9, " in api.json()["local_restart_notice"]
