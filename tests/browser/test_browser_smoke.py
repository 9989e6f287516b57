"""A person's path through the web app in Debian's Chromium: log in, create a project."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.fixtures.web import PASSWORD, TwoTeams
from tests.utils.git import make_repo


@pytest.mark.browser
def test_log_in_and_create_a_project(
    browser: Browser, live_url: str, two_teams: TwoTeams, tmp_path: Path
) -> None:
    page = browser.new_page()
    page.goto(f"{live_url}/projects")
    expect(page).to_have_url(f"{live_url}/login")
    page.fill("#email", "alice@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Projects")
    # htmx is served locally (no CDN): the page works offline.
    assert page.evaluate("typeof window.htmx") == "object"

    page.click("text=New project")
    page.fill("#f-name", "Browser App")
    page.fill("#f-repo_url", "not a url")
    page.fill("#f-start_command", "python3 -m http.server $PORT")
    page.click("button:has-text('Create project')")
    expect(page.locator("#error-repo_url")).to_contain_text("https://")

    page.fill("#f-repo_url", str(tmp_path / "missing"))
    page.click("button:has-text('Create project')")
    expect(page.locator("#error-repo_url")).to_contain_text("no such directory")

    page.fill("#f-repo_url", str(make_repo(tmp_path / "browser-app")))
    page.fill("#f-env_vars", "GREETING=hello")
    page.click("button:has-text('Create project')")
    expect(page).to_have_url(f"{live_url}/projects/browser-app")
    expect(page.locator("h1")).to_contain_text("Browser App")
    expect(page.locator("table.list").first).to_contain_text("production")
    page.screenshot(path=str(tmp_path / "project.png"), full_page=True)

    page.click("button:has-text('Deploy')")
    expect(page.locator("#deployment-status [data-status]")).to_have_text("queued")
    expect(page.locator("#deployment-logs")).to_be_visible()
    page.close()
