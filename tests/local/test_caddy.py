"""devpush_dev/caddy.py runs the Caddy that Compose pins, built into the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from devpush_dev import binaries, caddy


def test_the_local_run_and_the_tests_run_the_pinned_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(caddy.BINARY_ENV, raising=False)
    version = binaries.read_versions()["CADDY_VERSION"]
    path = Path(caddy.caddy_binary())
    assert path == binaries.cache_dir() / "bin" / f"caddy-{version}"
    assert path.is_file(), f"build it with {caddy.BUILD_HINT}"


def test_a_missing_build_names_the_script_that_builds_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(caddy.BINARY_ENV, raising=False)
    monkeypatch.setenv("DEVPUSH_CACHE", str(tmp_path))
    with pytest.raises(binaries.BinaryNotFoundError) as raised:
        caddy.caddy_binary()
    message = str(raised.value)
    assert str(tmp_path / "bin" / "caddy-") in message
    assert "scripts/dev/go-tool.sh caddy" in message
