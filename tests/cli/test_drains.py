"""``devpush drains list|add|remove|test`` against the real app on 127.0.0.1 and a real
HTTP receiver."""

from __future__ import annotations

from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.services.drains.senders import SIGNATURE_HEADER, signature
from tests.fixtures.cli_items import add_with_secret, list_items, remove_leaves_none, send_test
from tests.utils.notify import HttpReceiver

runner = CliRunner()


def test_add_list_test_remove(alice_cli: dict[str, str], receiver: HttpReceiver) -> None:
    options = ["--source", "stderr", "--min-level", "warning", "--header", "X-Api-Key: k-s3cr3t"]
    drain_id, secret, output = add_with_secret(
        alice_cli, ["drains", "add", "shop", "https", f"{receiver.url}/in", *options], noun="drain"
    )
    assert "all environments; stderr; warning+" in output

    assert "Delivered." in send_test(alice_cli, "drains", drain_id, delivered=True)
    (call,) = receiver.on("/in")
    assert call.headers[SIGNATURE_HEADER] == signature(secret, call.body)
    assert call.headers["X-Api-Key"] == "k-s3cr3t"

    listed = list_items(alice_cli, "drains")
    assert drain_id in listed
    assert secret not in listed and "k-s3cr3t" not in listed

    receiver.script["/in"] = [500]
    assert "answered 500" in send_test(alice_cli, "drains", drain_id, delivered=False)

    remove_leaves_none(alice_cli, "drains", drain_id, none="No log drains.")


def test_bad_input_says_why(alice_cli: dict[str, str]) -> None:
    result = runner.invoke(cli, ["drains", "add", "shop", "syslog", "syslog://h"], env=alice_cli)
    assert result.exit_code == 1
    assert "needs a host and a port" in result.output
    result = runner.invoke(cli, ["drains", "add", "shop", "fax", "x"], env=alice_cli)
    assert result.exit_code == 1 and "https, syslog, otlp" in result.output
    result = runner.invoke(
        cli,
        ["drains", "add", "shop", "otlp", "https://x.org", "--header", "nocolon"],
        env=alice_cli,
    )
    assert result.exit_code == 1 and "Name: value" in result.output
