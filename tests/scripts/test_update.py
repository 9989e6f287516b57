"""scripts/prod/update.sh and update-apply.sh: arguments, components, upgrade hooks."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest

from tests.scripts.conftest import REPO, run_script
from tests.scripts.releases import fake_release

UPDATE = REPO / "scripts/prod/update.sh"
APPLY = REPO / "scripts/prod/update-apply.sh"


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "data").mkdir()
    (tmp_path / "app").mkdir()
    return {"DEVPUSH_DATA_ROOT": str(tmp_path / "data"), "DEVPUSH_APP_DIR": str(tmp_path / "app")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--version X.Y.Z is required"),
        (("--version", "0.1.3"), "name the components"),
        (("--version", "0.1.3", "nope"), "unknown component: nope"),
        (("--version", "0.1.3", "--bogus"), "unknown option: --bogus"),
    ],
)
def test_update_rejects_bad_arguments(args: tuple[str, ...], message: str) -> None:
    proc = run_script(UPDATE, *args)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_help() -> None:
    for script in (UPDATE, APPLY):
        proc = run_script(script, "--help")
        assert proc.returncode == 0
        assert "alloy" in proc.stdout


def test_all_includes_alloy_and_both_proxy_doors(dirs: dict[str, str]) -> None:
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "--all", "--dry-run", env=dirs)
    assert proc.returncode == 0, proc.stderr
    ups = [line for line in proc.stdout.splitlines() if " up -d " in line]
    # The two resolvers one at a time, then the rest together.
    assert ups[0].endswith("up -d --no-deps --wait resolver")
    assert ups[1].endswith("up -d --no-deps --wait resolver-2")
    up = ups[2]
    services = ("alloy", "loki", "app", "worker", "proxy", "docker-proxy-worker")
    for service in (*services, "docker-proxy-alloy"):
        assert f" {service}" in up
    assert "--env-file" in up
    assert "versions.env" in up


def test_single_component(dirs: dict[str, str]) -> None:
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "alloy", "--dry-run", env=dirs)
    assert proc.returncode == 0, proc.stderr
    assert "pull alloy" in proc.stdout
    up = next(line for line in proc.stdout.splitlines() if " up -d " in line)
    assert up.endswith("up -d --no-deps --wait alloy")


def test_app_update_migrates_before_restarting(dirs: dict[str, str]) -> None:
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "app", "--dry-run", env=dirs)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # The route resolvers run the app's code: built and restarted with it, one at a time
    # (each healthy before the next stops), so one always answers the proxy.
    build = next(
        i for i, line in enumerate(lines) if line.endswith(" build app resolver resolver-2")
    )
    migrate = next(i for i, line in enumerate(lines) if line.endswith(" run --rm migrate"))
    first, second, app = (
        next(i for i, line in enumerate(lines) if line.endswith(f"up -d --no-deps --wait {s}"))
        for s in ("resolver", "resolver-2", "app")
    )
    assert build < migrate < first < second < app


def test_proxy_update_does_not_migrate(dirs: dict[str, str]) -> None:
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "alloy", "--dry-run", env=dirs)
    assert "migrate" not in proc.stdout


def test_proxy_update_reconnects_the_runner_networks_at_once(dirs: dict[str, str]) -> None:
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "proxy", "--dry-run", env=dirs)
    lines = proc.stdout.splitlines()
    up = next(i for i, line in enumerate(lines) if line.endswith("up -d --no-deps --wait proxy"))
    rejoin = next(
        i
        for i, line in enumerate(lines)
        if line.endswith("python -m devpush.workers.tasks.reconcile")
    )
    assert up < rejoin
    app = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "app", "--dry-run", env=dirs)
    assert "devpush.workers.tasks.reconcile" not in app.stdout


def test_refuses_downgrade(dirs: dict[str, str]) -> None:
    proc = run_script(APPLY, "--from", "0.1.3", "--to", "0.1.2", "--all", env=dirs)
    assert proc.returncode == 1
    assert "downgrade" in proc.stderr


def test_from_version_file(dirs: dict[str, str]) -> None:
    Path(dirs["DEVPUSH_DATA_ROOT"], "version").write_text("0.1.1\n")
    proc = run_script(APPLY, "--to", "0.1.2", "--hooks-only", "--dry-run", env=dirs)
    assert "0.1.1 -> 0.1.2" in proc.stdout


def test_0_1_1_to_0_1_2_runs_the_0_1_2_hook(dirs: dict[str, str]) -> None:
    proc = run_script(
        APPLY, "--from", "0.1.1", "--to", "0.1.2", "--hooks-only", "--dry-run", env=dirs
    )
    assert proc.returncode == 0, proc.stderr
    assert f"+ bash {REPO}/scripts/prod/upgrades/0.1.2.sh" in proc.stdout


def test_0_1_2_to_0_1_3_runs_no_hook(dirs: dict[str, str]) -> None:
    proc = run_script(
        APPLY, "--from", "0.1.2", "--to", "0.1.3", "--hooks-only", "--dry-run", env=dirs
    )
    assert proc.returncode == 0, proc.stderr
    assert "0.1.2.sh" not in proc.stdout
    assert "no upgrade hooks between 0.1.2 and 0.1.3" in proc.stdout


def test_hooks_run_in_order_and_failures_are_reported(tmp_path: Path, dirs: dict[str, str]) -> None:
    log = tmp_path / "ran"
    hooks = {v: f"echo {v} >> {log}" for v in ("0.1.0", "0.1.2", "0.1.10", "0.1.3", "0.2.0")}
    hooks["0.1.3"] += "\nexit 7"
    release = fake_release(tmp_path, hooks)
    apply = release / "scripts/prod/update-apply.sh"
    proc = run_script(apply, "--from", "0.1.1", "--to", "0.1.10", "--hooks-only", env=dirs)
    # Every hook between the versions ran, in version order, past the failing one...
    assert log.read_text().split() == ["0.1.2", "0.1.3", "0.1.10"]
    # ...and the failure is named, not hidden.
    assert proc.returncode == 3
    assert "upgrade hook 0.1.3.sh failed (exit 7)" in proc.stderr
    assert "upgrade hooks failed: 0.1.3.sh" in proc.stderr


def test_update_fetches_the_release_and_hands_over(tmp_path: Path, dirs: dict[str, str]) -> None:
    release = fake_release(tmp_path, {"0.1.2": "true"})
    for name in ("docker-compose.yml", "versions.env"):
        shutil.copy(REPO / name, release / name)
    tarball = tmp_path / "devpush-9.9.9.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(release, arcname=release.name)
    Path(dirs["DEVPUSH_DATA_ROOT"], "version").write_text("0.1.1\n")
    proc = run_script(
        UPDATE, "--version", "0.1.2", "--tarball", str(tarball), "--dry-run", "alloy", env=dirs
    )
    assert proc.returncode == 0, proc.stderr
    assert "0.1.1 -> 0.1.2 (components: alloy)" in proc.stdout
    # The new release's own hook and files are used, from the unpacked tarball.
    assert "upgrades/0.1.2.sh" in proc.stdout
    assert f"/. {dirs['DEVPUSH_APP_DIR']}/" in proc.stdout
    assert "up -d --no-deps --wait alloy" in proc.stdout


@pytest.mark.parametrize("source", ["env", ".env"])
def test_local_images_build_and_pull_nothing(dirs: dict[str, str], source: str) -> None:
    """DEVPUSH_LOCAL_IMAGES=1 (the environment or .env): docker-compose.local.yml comes last,
    and the update builds and pulls nothing (the server made its images itself)."""
    app = dirs["DEVPUSH_APP_DIR"]
    env = dict(dirs)
    if source == "env":
        env["DEVPUSH_LOCAL_IMAGES"] = "1"
    else:
        Path(app, ".env").write_text("DEVPUSH_LOCAL_IMAGES=true\n")
    args = ("--from", "0.1.2", "--to", "0.1.2", "app", "proxy", "--dry-run")
    proc = run_script(APPLY, *args, env=env)
    assert proc.returncode == 0, proc.stderr
    compose = [line for line in proc.stdout.splitlines() if line.startswith("+ docker compose")]
    assert compose
    for line in compose:
        assert f"-f {app}/docker-compose.yml -f {app}/docker-compose.local.yml " in line, line
    assert not [line for line in compose if " build " in line or " pull " in line]
    assert any(line.endswith(" run --rm migrate") for line in compose)
    assert compose[-2].endswith("up -d --no-deps --wait app proxy")
    assert compose[-1].endswith("exec -T worker python -m devpush.workers.tasks.reconcile")


def test_without_local_images_the_update_builds_and_pulls(dirs: dict[str, str]) -> None:
    args = ("--from", "0.1.2", "--to", "0.1.2", "app", "proxy", "--dry-run")
    proc = run_script(APPLY, *args, env={**dirs, "DEVPUSH_LOCAL_IMAGES": ""})
    assert proc.returncode == 0, proc.stderr
    assert "docker-compose.local.yml" not in proc.stdout
    assert " build app resolver resolver-2" in proc.stdout
    assert " pull proxy" in proc.stdout
