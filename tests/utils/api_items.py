"""The steps the API tests of a project's configured items (log drains, notification
channels) share: the collection's URL in Alice's project, adding one, a refused body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures.web import TwoTeams, bearer


@dataclass(frozen=True)
class ProjectItems:
    """``/api/v1/projects/<Alice's project>/<collection>``, called as Alice."""

    collection: str

    def url(self, two_teams: TwoTeams, tail: str = "") -> str:
        return f"/api/v1/projects/{two_teams.alice.project_id}/{self.collection}{tail}"

    def add(self, client: TestClient, two_teams: TwoTeams, body: dict[str, Any]) -> dict[str, Any]:
        response = self._post(client, two_teams, body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def assert_refused(
        self, client: TestClient, two_teams: TwoTeams, body: dict[str, Any], message: str
    ) -> None:
        """``body`` is a 422 whose answer says ``message``."""
        response = self._post(client, two_teams, body)
        assert response.status_code == 422, response.text
        assert message in response.text

    def _post(self, client: TestClient, two_teams: TwoTeams, body: dict[str, Any]) -> Any:
        return client.post(self.url(two_teams), json=body, headers=bearer(two_teams.alice.token))
