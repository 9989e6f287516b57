"""``devpush logs --query`` against the real app on uvicorn and a real VictoriaLogs."""

from __future__ import annotations

from typer.testing import CliRunner

from devpush.cli import app as cli
from tests.fixtures.web import TwoTeams
from tests.logs.qlang.store import (  # noqa: F401
    RequestStore,
    Scope,
    log_store_url,
    request_store,
    written_for_members,
)

runner = CliRunner()


def rows_of(store: RequestStore, scope: Scope, who: str) -> list[dict[str, str]]:
    return [
        store.request(scope, method="GET", path="/health", status=503, duration_ms=3),
        store.request(scope, method="GET", path=f"/{who}", status=502, duration_ms=2000),
        store.line(scope, "a (b) + c*"),
    ]


written = written_for_members(rows_of)


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
