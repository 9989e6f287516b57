"""``devpush webhook show|rotate`` and ``devpush deliveries`` against the real app on
127.0.0.1."""

from __future__ import annotations

import json

import httpx
from typer.testing import CliRunner

from devpush.cli import app as cli
from tests.fixtures.web import TwoTeams
from tests.forges.hooks import SHA_A, hex_hmac

runner = CliRunner()


def test_rotate_show_and_deliveries(
    alice_cli: dict[str, str], live_url: str, two_teams: TwoTeams
) -> None:
    none = runner.invoke(cli, ["webhook", "show", "shop"], env=alice_cli)
    assert none.exit_code == 1
    assert "no webhook yet" in none.output

    created = runner.invoke(cli, ["webhook", "rotate", "shop"], env=alice_cli)
    assert created.exit_code == 0, created.output
    url = f"{live_url}/api/v1/hooks/{two_teams.alice.project_id}"
    assert url in created.output
    secret = next(line.split()[-2] for line in created.output.splitlines() if "Secret" in line)
    shown = runner.invoke(cli, ["webhook", "show", "shop"], env=alice_cli)
    assert shown.exit_code == 0, shown.output
    assert url in shown.output
    assert secret not in shown.output

    # Rotating an existing webhook asks first.
    asked = runner.invoke(cli, ["webhook", "rotate", "shop"], input="n\n", env=alice_cli)
    assert asked.exit_code == 1
    assert "Rotate?" in asked.output

    body = json.dumps({"branch": "main", "commit": SHA_A}).encode()
    headers = {"X-Devpush-Signature": "sha256=" + hex_hmac(secret, body)}
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 202

    table = runner.invoke(cli, ["deliveries", "shop"], env=alice_cli)
    assert table.exit_code == 0, table.output
    assert "deployed" in table.output
    assert SHA_A[:8] in table.output
    lines = runner.invoke(cli, ["deliveries", "shop", "--json"], env=alice_cli)
    assert lines.exit_code == 0, lines.output
    [row] = [json.loads(line) for line in lines.output.splitlines()]
    assert (row["result"], row["commit"], row["forge"]) == ("deployed", SHA_A, "generic")
