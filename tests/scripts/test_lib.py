"""scripts/lib.sh: the small predicates the other scripts rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.conftest import lib


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("0.1.2", "0.1.2", True),
        ("0.1.10", "0.1.9", True),
        ("0.1.9", "0.1.10", False),
        ("24.04", "22.04", True),
        ("11", "12", False),
    ],
)
def test_version_gte(a: str, b: str, expected: bool) -> None:
    assert (lib(f"version_gte {a} {b}").returncode == 0) is expected


def test_component_services() -> None:
    assert lib("component_services docker-proxy").stdout.split() == [
        "docker-proxy-worker",
        "docker-proxy-alloy",
    ]
    assert lib("component_services alloy").stdout.split() == ["alloy"]
    assert lib("component_services app").stdout.split() == ["app", "resolver", "resolver-2"]
    assert lib("component_services nope").returncode == 1
    assert "alloy" in lib("stack_components", env={"DEVPUSH_LOG_STORE": "loki"}).stdout.split()


def test_upgrade_hooks_between_versions_in_version_order(tmp_path: Path) -> None:
    for version in ("0.1.0", "0.1.2", "0.1.10", "0.1.3", "0.2.0"):
        (tmp_path / f"{version}.sh").write_text("")
    out = lib(f"upgrade_hooks {tmp_path} 0.1.1 0.1.10").stdout.split()
    assert [Path(p).name for p in out] == ["0.1.2.sh", "0.1.3.sh", "0.1.10.sh"]
    assert lib(f"upgrade_hooks {tmp_path} 0.1.10 0.1.10").stdout == ""


def test_run_prints_under_dry_run(tmp_path: Path) -> None:
    target = tmp_path / "made"
    proc = lib(f"run mkdir {target}", env={"DRY_RUN": "1"})
    assert proc.stdout == f"+ mkdir {target}\n"
    assert not target.exists()
    lib(f"run mkdir {target}")
    assert target.is_dir()


def test_run_quiet_shows_output_only_on_failure() -> None:
    ok = lib("run_quiet 'say hi' echo hidden")
    assert "hidden" not in ok.stdout + ok.stderr
    bad = lib("run_quiet 'fail' sh -c 'echo the-cause; exit 4' || echo status=$?")
    assert "the-cause" in bad.stderr
    assert "exit 4" in bad.stderr
    assert "status=4" in bad.stdout


def test_no_colour_when_not_a_terminal() -> None:
    proc = lib("info hello; err oops", env={"NO_COLOR": ""})
    assert proc.stdout == "==> hello\n"
    assert "\033" not in proc.stderr


def test_os_release_field(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('ID=ubuntu\nVERSION_ID="24.04"\n')
    env = {"DEVPUSH_OS_RELEASE": str(release)}
    assert lib("os_release_field VERSION_ID", env=env).stdout == "24.04\n"
    # The file's variables stay in the subshell.
    assert lib('os_release_field ID >/dev/null; echo "${ID:-unset}"', env=env).stdout == "unset\n"


def test_install_docker_engine_uses_dockers_packages_when_docker_is_missing() -> None:
    # As on a fresh host: no `docker` on PATH (command_exists says so), dry run.
    proc = lib(
        'command_exists() { [[ $1 != docker ]] && command -v "$1" >/dev/null; }; '
        "DRY_RUN=1; install_docker_engine"
    )
    assert proc.returncode == 0, proc.stderr
    assert "https://get.docker.com" in proc.stdout
    assert "sh /tmp/get-docker.sh" in proc.stdout
    # Debian's docker.io has no Compose v2 plugin: it is never the route.
    assert "docker.io" not in proc.stdout
    assert "apt-get" not in proc.stdout
