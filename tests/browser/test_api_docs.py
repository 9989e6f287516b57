"""``/api/docs`` in Chromium with no way out: Swagger UI's files come from the app itself."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route, expect


@pytest.mark.browser
def test_api_docs_render_from_the_app_alone(browser: Browser, live_url: str) -> None:
    page = browser.new_page()
    requested: list[str] = []
    refused: list[str] = []

    def only_the_app(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        host = urlsplit(url).hostname
        if host == "127.0.0.1" or url.startswith("data:"):
            route.continue_()
        else:  # a CDN, a validator badge, fonts: none may be needed
            refused.append(url)
            route.abort()

    page.route("**/*", only_the_app)
    page.goto(f"{live_url}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("devpush")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/projects").first).to_be_visible()
    assert operations.count() >= 5
    # An operation opens and shows its parameters and responses, all drawn locally.
    operations.first.locator(".opblock-summary").click()
    expect(operations.first.locator(".responses-wrapper")).to_be_visible()
    assert refused == [], refused
    assert any(url.endswith("/api/docs/assets/swagger-ui-bundle.js") for url in requested)
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in requested), requested
    page.close()
