"""``devpush notifications list|add|remove|test`` against the real app on 127.0.0.1 and a
real HTTP receiver."""

from __future__ import annotations

from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.services.notifications.senders import signature
from tests.fixtures.cli_items import add_with_secret, list_items, remove_leaves_none, send_test
from tests.utils.notify import HttpReceiver

runner = CliRunner()


def test_add_list_test_remove(alice_cli: dict[str, str], receiver: HttpReceiver) -> None:
    channel_id, secret, _ = add_with_secret(
        alice_cli,
        ["notifications", "add", "shop", "webhook", f"{receiver.url}/hook"],
        noun="channel",
    )

    assert "Delivered (200)" in send_test(alice_cli, "notifications", channel_id, delivered=True)
    (call,) = receiver.on("/hook")
    assert call.headers["X-Devpush-Signature"] == signature(secret, call.body)

    listed = list_items(alice_cli, "notifications")
    assert channel_id in listed and "sent" in listed
    assert secret not in listed

    receiver.script["/hook"] = [404]
    failed = send_test(alice_cli, "notifications", channel_id, delivered=False)
    assert "not delivered (404)" in failed

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
