"""Find the log stack's binaries, or say exactly where they were looked for."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
VERSIONS_FILE: Final = REPO_ROOT / "versions.env"

#: What to do about a missing Loki or Alloy: Grafana release binaries, which devpush never builds.
LOKI_STACK_HINT: Final = (
    "Install the Grafana release binaries (versions in versions.env), or use the embedded "
    'stack, which needs nothing installed: see docs/logging.md, "Testing against Loki".'
)


class BinaryNotFoundError(FileNotFoundError):
    """Neither the env variable, PATH nor the cache holds the binary."""


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """``versions.env`` as a dict (KEY=VALUE lines, ``#`` comments)."""
    versions: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip()
    return versions


def cache_dir() -> Path:
    """Same cache as scripts/dev/images.sh: ``$DEVPUSH_CACHE`` or ``~/.cache/devpush``."""
    if explicit := os.environ.get("DEVPUSH_CACHE"):
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "devpush"


def find_binary(
    name: str,
    *,
    env_var: str,
    version_key: str,
    build_hint: str | None = None,
    manifest: str | None = None,
) -> Path:
    """``$env_var``, then ``name`` on PATH, then ``<cache>/bin/<name>-<version>``
    (``-<manifest>`` after it when given: a build whose parts can change at one version).

    ``build_hint`` is the command that builds a missing binary into the cache; without
    one, the error says why the binary may be missing.
    """
    version = read_versions()[version_key]
    cached = cache_dir() / "bin" / f"{name}-{version}{f'-{manifest}' if manifest else ''}"
    explicit = os.environ.get(env_var)
    if explicit:
        path = Path(explicit)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise BinaryNotFoundError(f"{env_var}={explicit} is not an executable file")
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    looked = (
        f"{name} {version} not found. Looked in: (1) ${env_var} (unset), (2) `{name}` on PATH, "
        f"(3) {cached}."
    )
    if build_hint:
        raise BinaryNotFoundError(f"{looked} Build it into the cache with {build_hint}.")
    raise BinaryNotFoundError(
        f"{looked} Put the {name} {version} binary in one of those places. {LOKI_STACK_HINT}"
    )


def pinned_binary(
    name: str, key: str, *, build_hint: str | None = None, manifest: str | None = None
) -> Path:
    """:func:`find_binary` by the usual names: ``DEVPUSH_<key>_BIN``, ``<key>_VERSION``."""
    return find_binary(
        name,
        env_var=f"DEVPUSH_{key}_BIN",
        version_key=f"{key}_VERSION",
        build_hint=build_hint,
        manifest=manifest,
    )
