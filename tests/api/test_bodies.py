"""Every JSON body of the API refuses a field it does not know (422), never drops it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.fixtures.web import TwoTeams


def _json_bodies(app: FastAPI) -> dict[str, dict[str, Any]]:
    """Each API operation's JSON body schema, by "METHOD path", from the OpenAPI document."""
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    bodies = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref")
            if ref:
                bodies[f"{method.upper()} {path}"] = schemas[ref.rsplit("/", 1)[1]]
    return bodies


def test_every_api_body_forbids_unknown_fields(web_app: FastAPI) -> None:
    bodies = _json_bodies(web_app)
    assert len(bodies) >= 8, bodies
    lax = [
        where for where, schema in bodies.items() if schema.get("additionalProperties") is not False
    ]
    assert not lax, f"bodies that drop unknown fields: {lax}"


def test_a_deploy_with_an_unknown_field_is_refused(client: TestClient, two_teams: TwoTeams) -> None:
    headers = {"Authorization": f"Bearer {two_teams.alice.token}"}
    response = client.post(
        f"/api/v1/projects/{two_teams.alice.project_id}/deployments",
        json={"branch": "main", "comit": "0" * 40},
        headers=headers,
    )
    assert response.status_code == 422
    assert "comit" in response.text


def test_a_deploy_refuses_a_commit_that_is_not_a_full_sha(
    client: TestClient, two_teams: TwoTeams
) -> None:
    headers = {"Authorization": f"Bearer {two_teams.alice.token}"}
    for commit in ("abc123", "z" * 40, "--upload-pack=touch /tmp/x"):
        response = client.post(
            f"/api/v1/projects/{two_teams.alice.project_id}/deployments",
            json={"commit": commit},
            headers=headers,
        )
        assert response.status_code == 422, commit
