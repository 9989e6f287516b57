"""Structured (JSON) lines from a real runner, through the collector into the real store.

The API gives each JSON line a ``structured`` object (the raw ``line`` stays as printed),
the level filter agrees with the JSON's own level (not words in its message), the Logs
page shows the message with a toggle opening the object, and the CLI prints
``LEVEL message`` (``--raw``: the line as stored).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from tests.e2e.logs.support import AlicePrints, api_items, api_lines
from tests.fixtures.logstack import Runner
from tests.fixtures.web import PASSWORD, TwoTeams, log_in

pytestmark = pytest.mark.docker

Emit = Callable[..., Runner]

#: Lines as a runner prints them: pino, a Python JSON logger, hostile values, text.
PINO = '{"level":50,"time":1738324800000,"msg":"payment failed","order":{"id":17,"total":9.5}}'
INFO_WITH_ERROR_WORD = '{"severity":"INFO","message":"ERROR count is 0","errors":0}'
HOSTILE = '{"level":"warn","msg":"<img src=x onerror=alert(1)>","note":"</pre><script>x()"}'
NO_MESSAGE = '{"lvl":"debug","event":"tick"}'
TEXT = "ERROR plain text line"
STDOUT = [PINO, INFO_WITH_ERROR_WORD, HOSTILE, NO_MESSAGE]


def emitted(lines: list[str]) -> list[bytes]:
    return [f"{line}\n".encode() for line in lines]


def test_json_lines_in_the_api_the_level_filter_the_page_and_the_cli(
    http: httpx.Client,
    two_teams: TwoTeams,
    live_url: str,
    tmp_path: Path,
    alice_prints: AlicePrints,
) -> None:
    alice = two_teams.alice
    items = alice_prints(stdout=emitted(STDOUT), stderr=emitted([TEXT]))
    by_line = {item["line"]: item for item in items}
    assert sorted(by_line) == sorted([*STDOUT, TEXT])  # stored as printed

    pino = by_line[PINO]
    assert pino["level"] == "error"
    assert pino["structured"] == {
        "level": 50,
        "message": "payment failed",
        "fields": {"time": 1738324800000, "order": {"id": 17, "total": 9.5}},
    }
    assert by_line[INFO_WITH_ERROR_WORD]["level"] == "info"
    assert by_line[INFO_WITH_ERROR_WORD]["structured"]["message"] == "ERROR count is 0"
    assert by_line[HOSTILE]["structured"]["message"] == "<img src=x onerror=alert(1)>"
    assert by_line[NO_MESSAGE]["structured"] == {
        "level": "debug",
        "message": None,
        "fields": {"event": "tick"},
    }
    assert by_line[TEXT]["structured"] is None and by_line[TEXT]["level"] == "error"

    # The level filter agrees with the rows: the JSON's level, not a word in its message.
    def lines(**params: object) -> list[str]:
        return sorted(api_lines(http, alice.token, alice.project_slug, **params))

    assert lines(level="error") == sorted([PINO, TEXT])
    assert lines(level="info") == [INFO_WITH_ERROR_WORD]
    assert lines(level="warning") == [HOSTILE]
    assert lines(level="debug") == [NO_MESSAGE]
    assert all(
        item["level"] == "error"
        for item in api_items(http, alice.token, alice.project_slug, level="error")
    )

    # The Logs page: the message, a toggle, the object pretty-printed and escaped.
    log_in(http, alice.email)  # type: ignore[arg-type]
    page = http.get(f"/projects/{alice.project_slug}/logs")
    assert page.status_code == 200
    text = page.text
    assert text.count('<details class="log-json">') == len(STDOUT)
    assert '<span class="log-message">payment failed</span>' in text
    assert '  "order": {\n    "id": 17,'.replace('"', "&#34;") in text
    assert "<img" not in text.split("</nav>")[-1] and "<script>x()" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    # Its permalink: the whole line, then the object pretty-printed.
    whole = http.get(f"/projects/{alice.project_slug}/logs/line", params={"id": pino["id"]})
    assert whole.status_code == 200
    assert '<pre class="log-whole log-json-whole">{\n  &#34;level&#34;: 50,' in whole.text

    # The CLI: LEVEL message for JSON lines, the stored line with --raw.
    env = {CONFIG_ENV: str(tmp_path / "cli.json"), "COLUMNS": "300"}
    login = ["login", "--url", live_url, "--email", alice.email, "--password", PASSWORD]
    assert CliRunner().invoke(cli, login, env=env).exit_code == 0
    shown = CliRunner().invoke(cli, ["logs", alice.project_slug], env=env)
    assert shown.exit_code == 0, shown.output
    assert " out ERROR payment failed\n" in shown.output
    assert " out INFO ERROR count is 0\n" in shown.output
    assert f" out {NO_MESSAGE}\n" in shown.output  # no message: the line as printed
    assert f" err {TEXT}\n" in shown.output
    raw = CliRunner().invoke(cli, ["logs", alice.project_slug, "--raw"], env=env)
    assert f" out {PINO}\n" in raw.output and "payment failed\n" not in raw.output
    as_json = CliRunner().invoke(cli, ["logs", alice.project_slug, "--json"], env=env)
    rows = [json.loads(row) for row in as_json.output.splitlines()]
    assert {row["line"]: row["structured"] for row in rows}[PINO] == pino["structured"]
