"""scripts/dev/go-tool.sh: one program by name, its path printed; a wrong call exits 2.

The builds themselves run in every provisioning (scripts/dev/test-deps.sh) and are used by
the Compose, local-run and swarm tests; here, the cached binary comes back at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.conftest import REPO, run_script

GO_TOOL = REPO / "scripts/dev/go-tool.sh"


def test_help_names_every_program() -> None:
    done = run_script(GO_TOOL, "--help")
    assert done.returncode == 0
    assert "caddy|registry|compose-validator|alloy-syntax" in done.stdout


@pytest.mark.parametrize("args", [(), ("caddie",), ("caddy", "registry")])
def test_a_wrong_call_exits_2_and_says_why(args: tuple[str, ...]) -> None:
    done = run_script(GO_TOOL, *args)
    assert done.returncode == 2
    assert "see --help" in done.stderr


@pytest.mark.parametrize("program", ["caddy", "registry", "compose-validator", "alloy-syntax"])
def test_each_program_is_built_once_and_its_path_printed(program: str) -> None:
    done = run_script(GO_TOOL, program)
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path.is_file() and path.parent.name == "bin", done.stdout
