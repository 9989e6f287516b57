"""The CLI tests' shared fixtures: a private config file, and Alice logged in there."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from tests.fixtures.web import PASSWORD, TwoTeams


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment: its own config file, and room for wide tables."""
    return {CONFIG_ENV: str(tmp_path / "cli" / "config.json"), "COLUMNS": "250"}


@pytest.fixture
def alice_cli(live_url: str, two_teams: TwoTeams, cli_env: dict[str, str]) -> dict[str, str]:
    """``cli_env`` with Alice logged in to the live server."""
    args = ["login", "--url", live_url, "--email", two_teams.alice.email, "--password", PASSWORD]
    result = CliRunner().invoke(cli, args, env=cli_env)
    assert result.exit_code == 0, result.output
    return cli_env
