"""The proxy configs of the Compose stack, validated by the Caddy version it pins.

scripts/dev/go-tool.sh caddy builds that version from its Go module once (the local run
and the end-to-end tests run it too). ``caddy validate`` loads and provisions every
module of a config without starting it: unknown fields, modules and bad values fail
here, not on a server.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devpush.services.proxy_config import build_config, initial_config
from tests.compose.conftest import REPO, LoadCompose
from tests.compose.files import INITIAL, PROD, compose_settings, versions


@pytest.fixture(scope="module")
def caddy() -> Path:
    proc = subprocess.run(
        [str(REPO / "scripts/dev/go-tool.sh"), "caddy"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.fail(f"could not build the pinned Caddy:\n{proc.stderr}")
    return Path(proc.stdout.strip())


def validate(
    caddy: Path, config: dict[str, Any], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "caddy.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [str(caddy), "validate", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )


def test_it_is_the_pinned_version(caddy: Path) -> None:
    # Built by `go install ...@v<version>`, so Caddy's own `version` says "unknown".
    assert caddy.name == f"caddy-{versions()['CADDY_VERSION']}"
    modules = subprocess.run([str(caddy), "list-modules"], capture_output=True, text=True)
    assert "tls.permission.http" in modules.stdout.split()  # what on-demand TLS uses


def test_the_workers_config_and_the_initial_one_are_valid(
    caddy: Path, load_compose: LoadCompose, tmp_path: Path
) -> None:
    worker = compose_settings(load_compose(PROD)["services"]["worker"])
    # With a domain and an ACME account, as an installed server has them in .env.
    worker = worker.model_copy(
        update={
            "domain": "apps.example.com",
            "acme_email": "ops@example.com",
            # Validating opens the access log: here, not the container's path.
            "proxy_access_log": str(tmp_path / "logs" / "access.log"),
        }
    )
    # And signed by Caddy's own CA (DEVPUSH_PROXY_TLS_ISSUER=internal).
    internal = build_config(worker.model_copy(update={"proxy_tls_issuer": "internal"}))
    for config in (
        build_config(worker),
        internal,
        initial_config(worker),
        json.loads(INITIAL.read_text()),
    ):
        proc = validate(caddy, config, tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
    # And a broken one is refused: the check is real.
    broken = build_config(worker)
    broken["apps"]["tls"]["automation"]["on_demand"]["permission"]["module"] = "nope"
    proc = validate(caddy, broken, tmp_path)
    assert proc.returncode != 0 and "nope" in proc.stderr
