"""Fixtures the API tests share: Alice, and her project's webhook."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.web import Member, TwoTeams
from tests.forges.hooks import Hook, create_hook


@pytest.fixture
def alice(two_teams: TwoTeams) -> Member:
    return two_teams.alice


@pytest.fixture
def hook(client: TestClient, alice: Member) -> Hook:
    """Alice's project's webhook, made through the API."""
    return create_hook(client, alice)
