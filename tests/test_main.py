"""The app factory's error handling: an unexpected error is a logged 500 with an id."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

_ID = re.compile(r"id ([0-9a-f]{16})")


def _failing(web_app: FastAPI) -> FastAPI:
    @web_app.get("/boom")
    @web_app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("the secret cause")

    return web_app


def test_an_unexpected_error_is_a_logged_500_with_an_id(
    web_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        TestClient(_failing(web_app), raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="devpush.main"),
    ):
        page = client.get("/boom")
        api = client.get("/api/v1/boom")
    assert page.status_code == 500
    assert "text/html" in page.headers["content-type"]
    assert "the secret cause" not in page.text
    page_id = _ID.search(page.text)
    assert page_id is not None
    assert api.status_code == 500
    body = api.json()
    assert "the secret cause" not in body["detail"]
    assert body["detail"].endswith("the server log has the details.")
    logged = {r.getMessage(): r for r in caplog.records if r.name == "devpush.main"}
    for error_id, path in ((page_id[1], "/boom"), (body["error_id"], "/api/v1/boom")):
        record = logged[f"internal error {error_id} on GET {path}"]
        assert record.exc_info is not None
        assert str(record.exc_info[1]) == "the secret cause"
