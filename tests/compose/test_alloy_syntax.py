"""Docker/alloy/config.alloy parsed by Alloy's own parser (github.com/grafana/alloy/syntax).

No Alloy binary is needed: scripts/dev/go-tool.sh alloy-syntax builds a small checker on the
parser module and caches it. Syntax only; component arguments need Alloy itself.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.compose.conftest import REPO

CONFIG = REPO / "Docker/alloy/config.alloy"


@pytest.fixture(scope="module")
def checker() -> Path:
    proc = subprocess.run(
        [str(REPO / "scripts/dev/go-tool.sh"), "alloy-syntax"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.fail(f"could not build the Alloy syntax checker:\n{proc.stderr}")
    return Path(proc.stdout.strip())


def check(checker: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(checker), *map(str, args)], capture_output=True, text=True, timeout=30
    )


def test_config_alloy_parses_into_the_pipeline_blocks(checker: Path) -> None:
    proc = check(checker, "--blocks", CONFIG)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{CONFIG}: ok (8 blocks)"
    # Discovery -> relabel -> tail -> process -> write, as the parser sees the file; the
    # proxy's access log (request logs): match -> tail -> process, to the same write.
    assert lines[1:] == [
        "discovery.docker runners",
        "discovery.relabel runner_logs",
        "loki.source.file runner_logs",
        "loki.process runner_logs",
        "local.file_match proxy_access",
        "loki.source.file proxy_access",
        "loki.process requests",
        "loki.write loki",
    ]


def test_broken_copy_fails_with_its_position(checker: Path, tmp_path: Path) -> None:
    lines = CONFIG.read_text().splitlines(keepends=True)
    lines[2] = '= "orphan"\n'  # line 3: an attribute without a name
    broken = tmp_path / "config.alloy"
    broken.write_text("".join(lines))
    proc = check(checker, broken)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[0] == f"{broken}:3:1: expected identifier, got ="


def test_unclosed_block_is_reported_at_the_end(checker: Path, tmp_path: Path) -> None:
    text = CONFIG.read_text()
    broken = tmp_path / "config.alloy"
    broken.write_text(text[: text.rstrip().rfind("}")])  # drop loki.write's closing brace
    proc = check(checker, broken)
    assert proc.returncode == 1
    line = broken.read_text().count("\n") + 1
    assert f"{broken}:{line}:1: expected }}, got EOF" in proc.stderr


def test_missing_file_and_usage(checker: Path, tmp_path: Path) -> None:
    proc = check(checker, tmp_path / "nope.alloy")
    assert proc.returncode == 1
    assert "no such file" in proc.stderr
    assert check(checker).returncode == 2
