"""``devpush notifications list|add|remove|test`` against the real app on 127.0.0.1 and a
real HTTP receiver."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.services.notifications.senders import signature
from tests.utils.notify import HttpReceiver

runner = CliRunner()


def test_add_list_test_remove(alice_cli: dict[str, str], receiver: HttpReceiver) -> None:
    added = runner.invoke(
        cli, ["notifications", "add", "shop", "webhook", f"{receiver.url}/hook"], env=alice_cli
    )
    assert added.exit_code == 0, added.output
    channel_id = re.search(r"channel ([0-9a-f]{32})", added.output)
    secret = re.search(r"^([0-9a-f]{64})$", added.output, re.M)
    assert channel_id and secret, added.output

    tested = runner.invoke(cli, ["notifications", "test", "shop", channel_id[1]], env=alice_cli)
    assert tested.exit_code == 0, tested.output
    assert "Delivered (200)" in tested.output
    (call,) = receiver.on("/hook")
    assert call.headers["X-Devpush-Signature"] == signature(secret[1], call.body)

    listed = runner.invoke(cli, ["notifications", "list", "shop"], env=alice_cli)
    assert listed.exit_code == 0, listed.output
    assert channel_id[1] in listed.output and "sent" in listed.output
    assert secret[1] not in listed.output

    receiver.script["/hook"] = [404]
    failed = runner.invoke(cli, ["notifications", "test", "shop", channel_id[1]], env=alice_cli)
    assert failed.exit_code == 1
    assert "not delivered (404)" in failed.output

    removed = runner.invoke(cli, ["notifications", "remove", "shop", channel_id[1]], env=alice_cli)
    assert removed.exit_code == 0, removed.output
    listed = runner.invoke(cli, ["notifications", "list", "shop"], env=alice_cli)
    assert "No notification channels." in listed.output


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
