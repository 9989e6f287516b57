"""Posting a form as a browser does, for the web app's tests."""

from __future__ import annotations

from fastapi.testclient import TestClient


def redirected(client: TestClient, path: str, data: dict[str, str]) -> str:
    """Posts the form ``data`` to ``path``; the app answers 303 (see other): where it sends
    the browser next."""
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]
