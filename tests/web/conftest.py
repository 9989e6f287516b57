"""Fixtures the web app's tests share: Alice, logged in, and her session's CSRF token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.web import Member, TwoTeams, log_in


@pytest.fixture
def csrf(client: TestClient, two_teams: TwoTeams) -> str:
    """Alice logs in to the web app: the CSRF token her session's forms carry."""
    return log_in(client, two_teams.alice.email)


@pytest.fixture
def alice(two_teams: TwoTeams, csrf: str) -> Member:
    """Alice, the owner of the team "shop", logged in to the web app."""
    return two_teams.alice
