"""Run the distribution registry (``registry serve``) on a given address, its storage in a
given dir: the registry the swarm tests' hosts pull Dockerfile builds from.

Production runs the image ``registry:<REGISTRY_VERSION>`` (docker-stack.registry.yml),
whose binary is this one; its settings there are the same as :func:`registry_config`
besides the storage path and the address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from devpush_dev import processes
from devpush_dev.binaries import pinned_binary

BUILD_SCRIPT: Final = "scripts/dev/go-tool.sh registry"


def registry_binary() -> Path:
    return pinned_binary("registry", "REGISTRY", build_hint=BUILD_SCRIPT)


def registry_config(*, storage_dir: Path, address: str) -> dict[str, Any]:
    """The registry's config (YAML; JSON is YAML): filesystem storage, plain HTTP."""
    return {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage_dir)},
            # The worker deletes a collected build's manifest; garbage-collect frees it.
            "delete": {"enabled": True},
        },
        "http": {"addr": address},
    }


# Same shape as the other starters in devpush_dev on purpose (binary, argv, a handle with
# its address, start).
@dataclass
class Registry(processes.ChildHandle):
    address: str
    state_dir: Path


def registry_process(
    *, state_dir: Path, address: str, timeout: float = 30.0
) -> processes.ProcessSpec:
    """The registry on ``address`` (``host:port``), ready when ``/v2/`` answers; it logs to
    ``registry.log`` and stores under ``state_dir/storage``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    config = state_dir / "config.yml"
    config.write_text(
        json.dumps(registry_config(storage_dir=state_dir / "storage", address=address))
    )
    return processes.ProcessSpec(
        name="registry",
        argv=[str(registry_binary()), "serve", str(config)],
        state_dir=state_dir,
        log_name="registry.log",
        ready_url=f"http://{address}/v2/",
        timeout=timeout,
        # Its traces exporter off: nothing here collects them (it would send to OTLP).
        env={"OTEL_TRACES_EXPORTER": "none"},
    )


def start_registry(*, state_dir: Path, address: str) -> Registry:
    """Start :func:`registry_process` and wait until it answers."""
    child = registry_process(state_dir=state_dir, address=address).start()
    return Registry(child=child, address=address, state_dir=state_dir)
