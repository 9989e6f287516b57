"""Every place that lists the log stores lists exactly ``LOG_STORES`` (ARCHITECTURE.md,
"Where to add", a log-store backend).

Each registry is a check: ``has(name)`` says whether that place knows the store. A stub
backend shows each check catching its missing part, until the part is added.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from devpush.core.config import LOG_STORES, Settings
from devpush.services import log_store
from devpush_dev import log_stacks
from tests.fixtures import logstack as logstack_fixture
from tests.scripts.conftest import REPO, lib, run_script

STUB = "stub"


def _lib_env(name: str) -> dict[str, str]:
    # Only the environment names the store: no .env is read.
    return {"DEVPUSH_LOG_STORE": name, "DEVPUSH_APP_DIR": "/nonexistent"}


def in_app(name: str) -> bool:
    return name in log_store.LOG_STORE_BACKENDS


def in_dev_package(name: str) -> bool:
    return name in log_stacks.LOG_STACKS


def in_test_option(name: str) -> bool:
    return name in logstack_fixture.BACKENDS


def in_lib_sh(name: str) -> bool:
    return lib("log_stack", env=_lib_env(name)).returncode == 0


def in_local_sh(name: str) -> bool:
    # --log-store is checked before --help exits: nothing else runs.
    done = run_script(REPO / "scripts/dev/local.sh", "--log-store", name, "--help")
    return done.returncode == 0


def _lines(snippet: str, name: str) -> list[str]:
    done = lib(snippet, env=_lib_env(name))
    return done.stdout.split() if done.returncode == 0 else []


class _ComposeLoader(yaml.SafeLoader):
    """Compose's merge tags (``!override``, ``!reset``) read as their plain values."""


def _untagged(loader: yaml.SafeLoader, _: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_ComposeLoader.add_multi_constructor("!", _untagged)


def in_compose(name: str) -> bool:
    """lib.sh's components of the stack are services of the stack's Compose files."""
    files = _lines(f'compose_files "{REPO}"', name)
    components = _lines("stack_components", name)
    if not files or not components:
        return False
    services: set[str] = set()
    for file in files:
        compose = yaml.load(Path(file).read_text(), _ComposeLoader)
        services |= set(compose.get("services") or {})
    wanted = {s for c in components for s in _lines(f"component_services {c}", name)}
    return bool(wanted) and wanted <= services


#: Each place a backend must be added, with how to tell whether it is there.
REGISTRIES: dict[str, Callable[[str], bool]] = {
    "LOG_STORE_BACKENDS (devpush/services/log_store.py)": in_app,
    "LOG_STACKS (devpush_dev/log_stacks.py)": in_dev_package,
    "pytest --log-store (tests/fixtures/logstack.py)": in_test_option,
    "log_stack (scripts/lib.sh)": in_lib_sh,
    "stack_components, component_services, compose_files (scripts/lib.sh, Compose files)": (
        in_compose
    ),
    "--log-store (scripts/dev/local.sh)": in_local_sh,
}


def missing(names: tuple[str, ...]) -> dict[str, list[str]]:
    """For each registry, the names it lacks (none when complete)."""
    gaps = {where: [n for n in names if not has(n)] for where, has in REGISTRIES.items()}
    return {where: lacking for where, lacking in gaps.items() if lacking}


@pytest.mark.parametrize("where", REGISTRIES)
def test_each_registry_knows_every_log_store(where: str) -> None:
    has = REGISTRIES[where]
    assert [n for n in LOG_STORES if not has(n)] == [], f"{where} misses a log store"


def test_the_python_registries_have_nothing_more() -> None:
    assert set(log_store.LOG_STORE_BACKENDS) == set(LOG_STORES)
    assert set(log_stacks.LOG_STACKS) == set(LOG_STORES)
    assert set(logstack_fixture.BACKENDS) == set(LOG_STORES)


def test_a_stub_backend_is_caught_by_every_registry_until_added(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = (*LOG_STORES, STUB)
    # A name in LOG_STORES alone: every place says it lacks it.
    assert missing(names) == {where: [STUB] for where in REGISTRIES}

    # Registered in the Python registries: those are satisfied, the scripts still are not.
    stub_backend = log_store.LogStoreBackend(store=_stub_store, default_url="http://stub")
    monkeypatch.setitem(log_store.LOG_STORE_BACKENDS, STUB, stub_backend)  # type: ignore[index]
    monkeypatch.setitem(log_stacks.LOG_STACKS, STUB, _stub_plan)  # type: ignore[index]
    monkeypatch.setattr(logstack_fixture, "BACKENDS", names)
    assert set(missing(names)) == {
        "log_stack (scripts/lib.sh)",
        "stack_components, component_services, compose_files (scripts/lib.sh, Compose files)",
        "--log-store (scripts/dev/local.sh)",
    }


def _stub_store(*_: Any, **__: Any) -> Any:
    raise AssertionError("never opened")


def _stub_plan(*_: Any, **__: Any) -> Any:
    raise AssertionError("never planned")


def test_an_unknown_name_fails_loudly_everywhere(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="log_store"):
        Settings(log_store=STUB)
    with pytest.raises(log_store.UnknownLogStoreError, match="no log store named 'stub'"):
        log_store.backend(STUB)
    with pytest.raises(log_stacks.UnknownLogStackError, match=r"no log stack for .*'stub'"):
        log_stacks.plan(STUB, tmp_path, docker_host="unix:///var/run/docker.sock")
    done = lib("log_stack", env=_lib_env(STUB))
    assert done.returncode != 0
    assert "is not a log store" in done.stderr
    done = run_script(REPO / "scripts/dev/local.sh", "--log-store", STUB)
    assert done.returncode == 2
    assert "--log-store takes" in done.stderr
    pipeline = subprocess.run(
        [
            sys.executable,
            "-m",
            "devpush_dev.pipeline",
            "--state",
            str(tmp_path),
            "--log-store",
            STUB,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert pipeline.returncode == 2
    assert "invalid choice: 'stub'" in pipeline.stderr
