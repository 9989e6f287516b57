"""``devpush logs --query`` against the real app on uvicorn and a real VictoriaLogs."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from tests.fixtures.web import TwoTeams, only_environment_id
from tests.logs.qlang.store import RequestStore, Scope, request_store  # noqa: F401

runner = CliRunner()


@pytest.fixture
def log_store_url(request_store: RequestStore) -> str:  # noqa: F811
    return request_store.url


@pytest.fixture
def written(
    request_store: RequestStore,  # noqa: F811
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
) -> TwoTeams:
    rows = []
    for member in (two_teams.alice, two_teams.bob):
        env = only_environment_id(sessions, member.project_id)
        scope = Scope(member.project_id, env, "main", member.deployment_id)
        path = f"/{member.email.split('@')[0]}"
        rows += [
            request_store.request(scope, method="GET", path="/health", status=503, duration_ms=3),
            request_store.request(scope, method="GET", path=path, status=502, duration_ms=2000),
            request_store.line(scope, "a (b) + c*"),
        ]
    request_store.write(rows)
    return two_teams


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["logs", "shop", "--since", "1h", *args], env=env)
    return result.exit_code, result.output


def test_query_filters_and_stays_in_the_project(
    alice_cli: dict[str, str], written: TwoTeams
) -> None:
    code, output = run(alice_cli, "--query", "status:>=500 -path:/health*")
    assert code == 0, output
    assert "GET /alice 502 2000ms" in output
    assert "/health" not in output and "bob" not in output
    # --grep stays a plain substring search, whatever the query language makes of it.
    code, output = run(alice_cli, "--grep", "(B) + C*")
    assert code == 0, output
    assert "a (b) + c*" in output and "GET" not in output


def test_a_bad_query_names_the_column(alice_cli: dict[str, str], written: TwoTeams) -> None:
    code, output = run(alice_cli, "-q", "status:>=500 (path:/x")
    assert code == 1
    assert "column 22: expected ')' to close a '('" in " ".join(output.split())
    code, output = run(alice_cli, "-q", "x", "--grep", "y")
    assert code == 1 and "can't be combined" in output
