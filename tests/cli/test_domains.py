"""``devpush domains add|list|check|remove`` against the real app on 127.0.0.1."""

from __future__ import annotations

from typer.testing import CliRunner

from devpush.cli import app as cli

runner = CliRunner()


def test_add_list_check_remove(alice_cli: dict[str, str]) -> None:
    added = runner.invoke(cli, ["domains", "add", "shop", "example.com"], env=alice_cli)
    assert added.exit_code == 0, added.output
    assert "Added example.com to production." in added.output
    assert "example.com  CNAME  shop.localhost." in added.output
    www = runner.invoke(
        cli,
        ["domains", "add", "shop", "www.example.com", "--redirect-to", "example.com"],
        env=alice_cli,
    )
    assert www.exit_code == 0, www.output

    listed = runner.invoke(cli, ["domains", "list", "shop"], env=alice_cli)
    assert listed.exit_code == 0, listed.output
    assert "www.example.com" in listed.output and "pending" in listed.output

    checked = runner.invoke(cli, ["domains", "check", "shop", "example.com"], env=alice_cli)
    assert checked.exit_code == 0, checked.output
    assert "example.com: pending: checking again" in checked.output

    served = runner.invoke(cli, ["domains", "redirect", "shop", "www.example.com"], env=alice_cli)
    assert served.exit_code == 0 and "www.example.com is served itself." in served.output
    again = runner.invoke(
        cli,
        ["domains", "redirect", "shop", "www.example.com", "--to", "example.com"],
        env=alice_cli,
    )
    assert again.exit_code == 0 and "www.example.com redirects to example.com." in again.output

    first = runner.invoke(cli, ["domains", "remove", "shop", "example.com"], env=alice_cli)
    assert first.exit_code == 1
    assert "www.example.com redirects to example.com" in first.output
    for name in ("www.example.com", "example.com"):
        removed = runner.invoke(cli, ["domains", "remove", "shop", name], env=alice_cli)
        assert removed.exit_code == 0, removed.output
    listed = runner.invoke(cli, ["domains", "list", "shop"], env=alice_cli)
    assert "No custom domains." in listed.output


def test_a_bad_name_says_why(alice_cli: dict[str, str]) -> None:
    result = runner.invoke(cli, ["domains", "add", "shop", "192.0.2.1"], env=alice_cli)
    assert result.exit_code == 1
    assert "is an IP address" in result.output
