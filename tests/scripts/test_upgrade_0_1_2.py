"""The 0.1.2 upgrade hook against the real Docker engine.

It must remove the Loki Docker log-driver plugin that devpush < 0.1.2 installed.
The test installs a stand-in under the plugin's real names: a local plugin built
from a static Go binary that answers Docker's plugin activation on loki.sock
(no registry is reachable, so the real plugin cannot be pulled). This file, the
hook and CHANGELOG.md are the only places that name the plugin (see
tests/test_no_plugin_traces.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scripts.conftest import REPO, run_script

HOOK = REPO / "scripts/prod/upgrades/0.1.2.sh"

pytestmark = pytest.mark.docker

# Serves /run/docker/plugins/loki.sock inside the plugin: enough for `docker plugin
# enable` (Plugin.Activate) and for Docker to accept it as a container's log driver.
PLUGIN_MAIN = """package main

import (
	"net"
	"net/http"
	"os"
)

func main() {
	sock := "/run/docker/plugins/loki.sock"
	_ = os.MkdirAll("/run/docker/plugins", 0o755)
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		panic(err)
	}
	http.HandleFunc("/Plugin.Activate", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1+json")
		_, _ = w.Write([]byte(`{"Implements":["LogDriver"]}`))
	})
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1+json")
		_, _ = w.Write([]byte(`{}`))
	})
	_ = http.Serve(l, nil)
}
"""

PLUGIN_CONFIG = {
    "description": "devpush test stand-in for the Loki log driver",
    "documentation": "tests/scripts/test_upgrade_0_1_2.py",
    "entrypoint": ["/bin/plugin"],
    "interface": {"types": ["docker.logdriver/1.0"], "socket": "loki.sock"},
    "network": {"type": "host"},
}


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def plugin_names() -> list[str]:
    return docker("plugin", "ls", "--format", "{{.Name}}").stdout.split()


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if docker("version", check=False).returncode != 0:
        pytest.fail("Docker engine not answering: run scripts/dev/test-deps.sh")
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists():
        pytest.fail("no Go toolchain to build the plugin stand-in (go on PATH or /usr/local/go)")
    root = tmp_path_factory.mktemp("plugin")
    src = root / "src"
    src.mkdir()
    (src / "main.go").write_text(PLUGIN_MAIN)
    (src / "go.mod").write_text("module devpushplugintest\n\ngo 1.22\n")
    bundle = root / "bundle"
    (bundle / "rootfs/bin").mkdir(parents=True)
    (bundle / "rootfs/run/docker/plugins").mkdir(parents=True)
    subprocess.run(
        [go, "build", "-o", str(bundle / "rootfs/bin/plugin"), "."],
        cwd=src,
        check=True,
        env={**_go_env(), "CGO_ENABLED": "0"},
    )
    (bundle / "config.json").write_text(json.dumps(PLUGIN_CONFIG))
    return bundle


def _go_env() -> dict[str, str]:
    return {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}


@pytest.fixture(params=["loki:latest", "grafana/loki-docker-driver:latest"])
def installed_plugin(request: pytest.FixtureRequest, plugin_dir: Path) -> Iterator[str]:
    name: str = request.param
    stale = f"devpush-test-stale-{uuid.uuid4().hex[:8]}"
    assert name not in plugin_names(), f"{name} already installed: not touching it"
    try:
        docker("plugin", "create", name, str(plugin_dir))
        docker("plugin", "enable", name)
        # A container created by an old release, still on the plugin's log driver.
        docker("create", "--name", stale, "--log-driver", name, "devpush/busybox:local", "true")
        yield stale
    finally:
        docker("rm", "--force", stale, check=False)
        if name in plugin_names():
            docker("plugin", "rm", "--force", name, check=False)


def test_hook_removes_an_enabled_plugin_and_is_idempotent(
    installed_plugin: str, tmp_path: Path
) -> None:
    names = plugin_names()
    assert len([n for n in names if "loki" in n]) == 1
    env = {"DEVPUSH_DATA_ROOT": str(tmp_path)}

    first = run_script(HOOK, env=env)
    assert first.returncode == 0, first.stderr
    assert not [n for n in plugin_names() if "loki" in n]
    assert "removing the Loki Docker plugin" in first.stdout
    # The container still on the old driver is named for a redeploy.
    assert installed_plugin in first.stderr
    assert "redeploy" in first.stderr
    assert (tmp_path / "alloy").is_dir()

    second = run_script(HOOK, env=env)
    assert second.returncode == 0, second.stderr
    assert "no Loki Docker plugin installed" in second.stdout
    assert (tmp_path / "alloy").is_dir()


def test_hook_without_plugin_succeeds_and_says_so(tmp_path: Path) -> None:
    assert not [n for n in plugin_names() if "loki" in n]
    for _ in range(2):
        proc = run_script(HOOK, env={"DEVPUSH_DATA_ROOT": str(tmp_path)})
        assert proc.returncode == 0, proc.stderr
        assert "no Loki Docker plugin installed: nothing to remove" in proc.stdout
        assert (tmp_path / "alloy").is_dir()


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    proc = run_script(HOOK, "--dry-run", env={"DEVPUSH_DATA_ROOT": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert f"+ install -d -m 0755 {tmp_path}/alloy" in proc.stdout
    assert not (tmp_path / "alloy").exists()
