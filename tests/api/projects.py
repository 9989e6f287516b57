"""A member's project over the API, for the tests of its settings: as it is shown, and as a
change leaves it (``refused_field`` in tests/fixtures/web.py is the refused change)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures.web import Member, bearer


def shown(client: TestClient, member: Member) -> dict[str, Any]:
    """The member's project, as ``GET /api/v1/projects/<slug>`` shows it to them."""
    response = client.get(f"/api/v1/projects/{member.project_slug}", headers=bearer(member.token))
    assert response.status_code == 200, response.text
    project: dict[str, Any] = response.json()
    return project


def changed(client: TestClient, member: Member, changes: dict[str, object]) -> dict[str, Any]:
    """PATCHes the member's project with ``changes``: a 200, and the project it answers."""
    response = client.patch(
        f"/api/v1/projects/{member.project_slug}", json=changes, headers=bearer(member.token)
    )
    assert response.status_code == 200, response.text
    project: dict[str, Any] = response.json()
    return project
