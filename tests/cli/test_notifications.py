"""``devpush notifications list|add|remove|test`` against the real app on 127.0.0.1 and a
real HTTP receiver."""

from __future__ import annotations

from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.services.notifications.senders import signature
from tests.fixtures.cli_items import add_with_secret, remove_leaves_none
from tests.utils.notify import HttpReceiver

runner = CliRunner()


def test_add_list_test_remove(alice_cli: dict[str, str], receiver: HttpReceiver) -> None:
    channel_id, secret, _ = add_with_secret(
        alice_cli,
        ["notifications", "add", "shop", "webhook", f"{receiver.url}/hook"],
        noun="channel",
    )

    tested = runner.invoke(cli, ["notifications", "test", "shop", channel_id], env=alice_cli)
    assert tested.exit_code == 0, tested.output
    assert "Delivered (200)" in tested.output
    (call,) = receiver.on("/hook")
    assert call.headers["X-Devpush-Signature"] == signature(secret, call.body)

    listed = runner.invoke(cli, ["notifications", "list", "shop"], env=alice_cli)
    assert listed.exit_code == 0, listed.output
    assert channel_id in listed.output and "sent" in listed.output
    assert secret not in listed.output

    receiver.script["/hook"] = [404]
    failed = runner.invoke(cli, ["notifications", "test", "shop", channel_id], env=alice_cli)
    assert failed.exit_code == 1
    assert "not delivered (404)" in failed.output

    remove_leaves_none(alice_cli, "notifications", channel_id, none="No notification channels.")


def test_a_bad_target_says_why(alice_cli: dict[str, str]) -> None:
    result = runner.invoke(
        cli,
        ["notifications", "add", "shop", "email", "nobody", "--on-success"],
        env=alice_cli,
    )
    assert result.exit_code == 1
    assert "e-mail address" in result.output
    result = runner.invoke(cli, ["notifications", "add", "shop", "fax", "x"], env=alice_cli)
    assert result.exit_code == 1 and "webhook, slack, email" in result.output
