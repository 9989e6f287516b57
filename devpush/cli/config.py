"""Where the CLI keeps the server URL and token: ~/.config/devpush/config.json, mode 0600.

``DEVPUSH_TOKEN`` (and ``DEVPUSH_URL``) override the saved ones, for CI jobs and scripts
that should not write a config file: ``DEVPUSH_URL=https://… DEVPUSH_TOKEN=dp_… devpush …``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

#: Overrides the config file's location (tests, several servers side by side).
CONFIG_ENV = "DEVPUSH_CLI_CONFIG"
#: An API token to use instead of the saved one; the server is DEVPUSH_URL or the saved URL.
TOKEN_ENV = "DEVPUSH_TOKEN"  # noqa: S105 (a variable's name)
URL_ENV = "DEVPUSH_URL"


class NotLoggedInError(Exception):
    """No saved token: run ``devpush login`` first."""


@dataclass(frozen=True, slots=True)
class CliConfig:
    url: str
    token: str


def config_path() -> Path:
    if explicit := os.environ.get(CONFIG_ENV):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "devpush" / "config.json"


def save_config(config: CliConfig, *, path: Path | None = None) -> Path:
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 before the token is written, so it is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(config), handle, indent=2)
        handle.write("\n")
    path.chmod(0o600)  # an older file may have had wider permissions
    return path


def load_config(*, path: Path | None = None) -> CliConfig:
    """The server and token: DEVPUSH_TOKEN/DEVPUSH_URL first, then the saved file."""
    token, url = os.environ.get(TOKEN_ENV, "").strip(), os.environ.get(URL_ENV, "").strip()
    if token:
        if not url:
            try:
                url = _load_file(path or config_path()).url
            except NotLoggedInError as exc:
                raise NotLoggedInError(
                    f"{TOKEN_ENV} is set but no server is known: set {URL_ENV} too"
                ) from exc
        return CliConfig(url=url.rstrip("/"), token=token)
    saved = _load_file(path or config_path())
    return CliConfig(url=url.rstrip("/"), token=saved.token) if url else saved


def _load_file(path: Path) -> CliConfig:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return CliConfig(url=str(data["url"]), token=str(data["token"]))
    except FileNotFoundError as exc:
        raise NotLoggedInError("not logged in: run `devpush login` first") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise NotLoggedInError(f"{path} is damaged: run `devpush login` again") from exc
