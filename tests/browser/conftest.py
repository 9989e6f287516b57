"""Fixtures of the browser tests: Alice's page, signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.fixtures.browser import signed_in_page
from tests.fixtures.web import TwoTeams


@pytest.fixture
def alice_page(browser: Browser, live_url: str, two_teams: TwoTeams) -> Iterator[Page]:
    """A new page with Alice (of ``two_teams``) signed in; closed afterwards, pass or fail."""
    with signed_in_page(browser, live_url, two_teams.alice.email) as page:
        yield page
