"""Finding Loki and Alloy: explicit env variable, PATH, then the versioned cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devpush_dev import alloy, loki
from devpush_dev.binaries import BinaryNotFoundError, read_versions


@pytest.fixture
def empty_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DEVPUSH_LOKI_BIN", raising=False)
    monkeypatch.delenv("DEVPUSH_ALLOY_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.setenv("DEVPUSH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_missing_binary_error_names_all_three_places_and_what_to_do(empty_places: Path) -> None:
    version = read_versions()["ALLOY_VERSION"]
    with pytest.raises(BinaryNotFoundError) as error:
        alloy.alloy_binary()
    message = str(error.value)
    assert "$DEVPUSH_ALLOY_BIN" in message
    assert "`alloy` on PATH" in message
    assert str(empty_places / "bin" / f"alloy-{version}") in message
    assert "docs/logging.md" in message and "embedded" in message
    assert "AGPL" not in message and "registry" not in message


def test_cached_binary_is_found_by_version(empty_places: Path) -> None:
    cached = empty_places / "bin" / f"loki-{read_versions()['LOKI_VERSION']}"
    cached.parent.mkdir(parents=True)
    cached.write_text("#!/bin/sh\n")
    cached.chmod(0o755)
    assert loki.loki_binary() == cached


def test_explicit_variable_must_point_at_an_executable(
    empty_places: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVPUSH_LOKI_BIN", os.devnull)
    with pytest.raises(BinaryNotFoundError, match="not an executable file"):
        loki.loki_binary()


def test_argv_uses_repo_configs_and_loopback(tmp_path: Path) -> None:
    binary = Path("/opt/alloy")
    assert alloy.alloy_argv(binary=binary, state_dir=tmp_path, http_port=12345) == [
        "/opt/alloy",
        "run",
        str(alloy.CONFIG),
        f"--storage.path={tmp_path / 'data'}",
        "--server.http.listen-addr=127.0.0.1:12345",
    ]
    argv = loki.loki_argv(binary=Path("/opt/loki"), http_port=3100, grpc_port=9095)
    assert f"-config.file={loki.CONFIG}" in argv and "-config.expand-env=true" in argv
    assert "-server.http-listen-address=127.0.0.1" in argv
