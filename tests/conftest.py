"""Root test configuration, shared by every test directory: keep it small."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Needs real Loki and Alloy binaries (docs/logging.md, "Testing the pipeline").
PIPELINE_DIR = Path(__file__).parent / "e2e" / "pipeline"

#: Fixtures used by test directories beyond those pyproject.toml's addopts load.
pytest_plugins = [
    "tests.fixtures.notify",
    "tests.fixtures.swarm_hosts",
    "tests.fixtures.swarm_logs",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pipeline",
        action="store_true",
        default=False,
        help="also run tests/e2e/pipeline against real Loki and Alloy binaries "
        "(a missing binary fails the run)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # Not collected at all without --pipeline (no skip marks): the default run needs
    # nothing that cannot be installed on a fresh Debian machine.
    if config.getoption("--pipeline"):
        return None
    if collection_path == PIPELINE_DIR or PIPELINE_DIR in collection_path.parents:
        return True
    return None
