"""``devpush logs`` against the real app on uvicorn, with Loki down (a closed loopback port).

What the command prints for real lines needs Loki: tests/e2e/pipeline/test_logs_views.py.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from devpush.cli.logs import format_line
from tests.fixtures.web import TwoTeams, only_environment_id

runner = CliRunner()


def test_store_down_is_a_clear_error(alice_cli: dict[str, str], two_teams: TwoTeams) -> None:
    for extra in ([], ["--follow"], ["-n", "5", "--json"], ["--env", "production"]):
        result = runner.invoke(cli, ["logs", "shop", *extra], env=alice_cli)
        assert result.exit_code == 1, (extra, result.output)
        assert "503" in result.output
        assert "cannot reach the log store" in result.output


def test_other_teams_and_their_ids_are_not_found(
    alice_cli: dict[str, str],
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
) -> None:
    bob = two_teams.bob
    bob_env = only_environment_id(sessions, bob.project_id)
    cases = [
        ([bob.project_id], "project not found"),
        (["shop", "--deployment", bob.deployment_id], "deployment not found"),
        (["shop", "--env", bob_env], "no environment"),
        ([bob.project_id, "--follow"], "project not found"),
    ]
    for args, message in cases:
        result = runner.invoke(cli, ["logs", *args], env=alice_cli)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)


def test_bad_queries_are_explained(alice_cli: dict[str, str]) -> None:
    for args, message in [
        (["--regex", "(oops"], "invalid regular expression"),
        (["--since", "last tuesday"], "expected a duration"),
        (["--stream", "stdin"], "stream: must be one of"),
        (["--grep", "a", "--regex", "b"], "can't be combined"),
    ]:
        result = runner.invoke(cli, ["logs", "shop", *args], env=alice_cli)
        assert result.exit_code == 1, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)


def test_not_logged_in(tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["logs", "shop"], env={CONFIG_ENV: str(tmp_path / "none.json"), "COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert "not logged in" in result.output


def test_format_line() -> None:
    item = {
        "time": "2025-01-31T12:00:00.000000007Z",
        "deployment_id": "0123456789abcdef",
        "stream": "stderr",
        "line": "\x1b[31mboom\x1b[0m",
    }
    assert format_line(item) == "2025-01-31T12:00:00.000000007Z 01234567 err \x1b[31mboom\x1b[0m"


def test_format_line_of_a_json_line_is_its_level_and_message() -> None:
    line = '{"level":"warn","msg":"slow \\u001b[33mquery\\u001b[0m","ms":812}'
    item = {
        "time": "2025-01-31T12:00:00.000000007Z",
        "deployment_id": "0123456789abcdef",
        "stream": "stdout",
        "line": line,
        "level": "warning",
        "structured": {"level": "warn", "message": "slow \x1b[33mquery\x1b[0m", "fields": {}},
    }
    stamp = "2025-01-31T12:00:00.000000007Z 01234567 out"
    assert format_line(item) == f"{stamp} WARNING slow \x1b[33mquery\x1b[0m"
    assert format_line(item, raw=True) == f"{stamp} {line}"
    no_message = {**item, "level": None, "structured": {"level": None, "message": None}}
    assert format_line(no_message) == f"{stamp} {line}"
