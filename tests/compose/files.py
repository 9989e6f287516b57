"""What the Compose file tests read beside the files themselves: the production file's
name, the pinned versions (versions.env), a service's bind mounts, Caddy's initial config
and the Settings a service's environment gives the app."""

from __future__ import annotations

from typing import Any

from devpush.core.config import Settings
from tests.compose.conftest import REPO

PROD = "docker-compose.yml"


def versions() -> dict[str, str]:
    lines = (REPO / "versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def binds(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """target -> (source relative to the repo when inside it, read_only)."""
    out = {}
    for volume in service.get("volumes", []):
        source = volume["source"]
        if source.startswith(f"{REPO}/"):
            source = "./" + source.removeprefix(f"{REPO}/")
        out[volume["target"]] = (source, bool(volume.get("read_only")))
    return out


INITIAL = REPO / "Docker" / "caddy" / "initial.json"


def compose_settings(service: dict[str, Any]) -> Settings:
    """The Settings the app or worker reads in the stack (without a .env)."""
    env = {k.removeprefix("DEVPUSH_").lower(): v for k, v in service["environment"].items()}
    return Settings(_env_file=None, **{**env, "secret_key": "from-dot-env"})
