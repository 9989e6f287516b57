"""The log store knob (DEVPUSH_LOG_STORE in .env; DEVPUSH_LOG_STACK, its old name, still read)
in lib.sh, install.sh and the updates."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.conftest import REPO, lib, run_script

INSTALL = REPO / "scripts/prod/install.sh"
UPDATE = REPO / "scripts/prod/update.sh"
APPLY = REPO / "scripts/prod/update-apply.sh"
VL_FILE = "docker-compose.victorialogs.yml"


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "data").mkdir()
    (tmp_path / "app").mkdir()
    # Empty: the stack comes from the app dir's .env, whatever the caller's environment.
    return {
        "DEVPUSH_DATA_ROOT": str(tmp_path / "data"),
        "DEVPUSH_APP_DIR": str(tmp_path / "app"),
        "DEVPUSH_LOG_STORE": "",
        "DEVPUSH_LOG_STACK": "",
    }


def choose(dirs: dict[str, str], line: str) -> None:
    Path(dirs["DEVPUSH_APP_DIR"], ".env").write_text(f"POSTGRES_PASSWORD=x\n{line}\n")


def chosen(dirs: dict[str, str], line: str) -> str:
    """The store lib.sh's log_stack names once ``line`` is in the app dir's .env."""
    choose(dirs, line)
    proc = lib("log_stack", env=dirs)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.removesuffix("\n")


def up_line(stdout: str) -> str:
    """The restart of every service but the route resolvers (restarted one at a time first)."""
    return next(
        line
        for line in stdout.splitlines()
        if " up -d " in line and not line.endswith((" resolver", " resolver-2"))
    )


@pytest.mark.parametrize(
    ("line", "stack"),
    [
        ("", "loki"),
        ("DEVPUSH_LOG_STORE=loki", "loki"),
        ("DEVPUSH_LOG_STORE=victorialogs", "victorialogs"),
        ('DEVPUSH_LOG_STORE="victorialogs"', "victorialogs"),
        ("DEVPUSH_LOG_STORE = victorialogs  # the new one", "victorialogs"),
        ("DEVPUSH_LOG_STORE=victorialogs\nDEVPUSH_LOG_STORE=loki", "loki"),
    ],
)
def test_log_stack_from_env_file(dirs: dict[str, str], line: str, stack: str) -> None:
    assert chosen(dirs, line) == stack


@pytest.mark.parametrize(
    ("line", "stack"),
    [
        # An .env written before the rename keeps its store.
        ("DEVPUSH_LOG_STACK=victorialogs", "victorialogs"),
        # The new name wins wherever it stands.
        ("DEVPUSH_LOG_STORE=loki\nDEVPUSH_LOG_STACK=victorialogs", "loki"),
        ("DEVPUSH_LOG_STACK=loki\nDEVPUSH_LOG_STORE=victorialogs", "victorialogs"),
    ],
)
def test_old_name_is_read_after_the_new_one(dirs: dict[str, str], line: str, stack: str) -> None:
    assert chosen(dirs, line) == stack
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "--all", "--dry-run", env=dirs)
    assert proc.returncode == 0, proc.stderr
    assert (VL_FILE in up_line(proc.stdout)) == (stack == "victorialogs")


def test_environment_wins_and_no_env_file_means_loki(dirs: dict[str, str]) -> None:
    assert lib("log_stack", env=dirs).stdout == "loki\n"
    choose(dirs, "DEVPUSH_LOG_STORE=loki")
    proc = lib("log_stack", env={**dirs, "DEVPUSH_LOG_STORE": "victorialogs"})
    assert proc.stdout == "victorialogs\n"


def test_unknown_stack_is_refused(dirs: dict[str, str]) -> None:
    choose(dirs, "DEVPUSH_LOG_STORE=elk")
    proc = lib("log_stack", env=dirs)
    assert proc.returncode == 1
    assert "DEVPUSH_LOG_STORE=elk is not a log store: loki or victorialogs" in proc.stderr
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "--all", "--dry-run", env=dirs)
    assert proc.returncode == 2
    assert "DEVPUSH_LOG_STORE=elk" in proc.stderr


@pytest.mark.parametrize(
    ("stack", "mode", "files"),
    [
        ("loki", "prod", ["docker-compose.yml"]),
        ("loki", "dev", ["docker-compose.yml", "docker-compose.override.dev.yml"]),
        ("victorialogs", "prod", ["docker-compose.yml", VL_FILE]),
        (
            "victorialogs",
            "dev",
            [
                "docker-compose.yml",
                "docker-compose.override.dev.yml",
                VL_FILE,
                "docker-compose.victorialogs.dev.yml",
            ],
        ),
    ],
)
def test_compose_files(dirs: dict[str, str], stack: str, mode: str, files: list[str]) -> None:
    choose(dirs, f"DEVPUSH_LOG_STORE={stack}")
    app = dirs["DEVPUSH_APP_DIR"]
    proc = lib(f'compose_files "{app}" {mode}', env=dirs)
    assert proc.stdout.split() == [f"{app}/{name}" for name in files]
    # Every file named exists in the repository.
    for name in files:
        assert (REPO / name).is_file(), name


def test_components_per_stack(dirs: dict[str, str]) -> None:
    assert lib("stack_components", env=dirs).stdout.split() == [
        "postgres",
        "redis",
        "loki",
        "docker-proxy",
        "alloy",
        "proxy",
        "app",
        "worker",
    ]
    choose(dirs, "DEVPUSH_LOG_STORE=victorialogs")
    assert lib("stack_components", env=dirs).stdout.split() == [
        "postgres",
        "redis",
        "victorialogs",
        "docker-proxy",
        "otelcol",
        "proxy",
        "app",
        "worker",
    ]
    # Alloy's door does not run with this stack: only the worker's is restarted.
    assert lib("component_services docker-proxy", env=dirs).stdout.split() == [
        "docker-proxy-worker"
    ]
    assert lib("component_services otelcol", env=dirs).stdout.split() == ["otelcol"]
    assert lib("component_services alloy", env=dirs).returncode == 1


def test_update_all_with_victorialogs(dirs: dict[str, str]) -> None:
    choose(dirs, "DEVPUSH_LOG_STORE=victorialogs")
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "--all", "--dry-run", env=dirs)
    assert proc.returncode == 0, proc.stderr
    assert "pull postgres redis victorialogs docker-proxy-worker otelcol proxy\n" in proc.stdout
    up = up_line(proc.stdout)
    assert up.endswith(
        "up -d --no-deps --wait postgres redis victorialogs docker-proxy-worker otelcol proxy"
        " app worker"
    )
    assert f"-f {dirs['DEVPUSH_APP_DIR']}/{VL_FILE}" in up
    for service in ("alloy", "loki", "docker-proxy-alloy"):
        assert f" {service} " not in f"{up} ", service


def test_update_all_default_stack_is_unchanged(dirs: dict[str, str]) -> None:
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "--all", "--dry-run", env=dirs)
    assert proc.returncode == 0, proc.stderr
    up = up_line(proc.stdout)
    assert up.endswith(
        "up -d --no-deps --wait postgres redis loki docker-proxy-worker docker-proxy-alloy"
        " alloy proxy app worker"
    )
    assert VL_FILE not in proc.stdout


@pytest.mark.parametrize("component", ["victorialogs", "otelcol"])
def test_single_victorialogs_component(dirs: dict[str, str], component: str) -> None:
    choose(dirs, "DEVPUSH_LOG_STORE=victorialogs")
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", component, "--dry-run", env=dirs)
    assert proc.returncode == 0, proc.stderr
    assert f"pull {component}\n" in proc.stdout
    assert up_line(proc.stdout).endswith(f"up -d --no-deps --wait {component}")
    assert "migrate" not in proc.stdout


@pytest.mark.parametrize(
    ("stack", "component", "other"),
    [
        ("loki", "otelcol", "loki"),
        ("loki", "victorialogs", "loki"),
        ("victorialogs", "alloy", "victorialogs"),
    ],
)
def test_component_of_the_other_stack_is_refused(
    dirs: dict[str, str], stack: str, component: str, other: str
) -> None:
    choose(dirs, f"DEVPUSH_LOG_STORE={stack}")
    for script, args in (
        (APPLY, ("--from", "0.1.2", "--to", "0.1.2")),
        (UPDATE, ("--version", "0.1.3")),
    ):
        proc = run_script(script, *args, component, "--dry-run", env=dirs)
        assert proc.returncode == 2, script
        assert f"component {component} is not part of the {other} log stack" in proc.stderr


def test_help_names_the_stack_and_its_components(dirs: dict[str, str]) -> None:
    choose(dirs, "DEVPUSH_LOG_STORE=victorialogs")
    for script in (UPDATE, APPLY):
        proc = run_script(script, "--help", env=dirs)
        assert proc.returncode == 0
        assert "victorialogs log stack: postgres redis victorialogs docker-proxy otelcol" in (
            " ".join(proc.stdout.split())
        )


@pytest.fixture
def install_env(tmp_path: Path) -> dict[str, str]:
    release = tmp_path / "os-release"
    release.write_text('ID=debian\nVERSION_ID="12"\n')
    return {
        "DEVPUSH_DATA_ROOT": str(tmp_path / "srv"),
        "DEVPUSH_APP_DIR": str(tmp_path / "opt"),
        "DEVPUSH_OS_RELEASE": str(release),
        "DEVPUSH_LOG_STORE": "",
        "DEVPUSH_LOG_STACK": "",
    }


def test_install_default_is_loki(install_env: dict[str, str]) -> None:
    proc = run_script(INSTALL, "--dry-run", env=install_env)
    assert proc.returncode == 0, proc.stderr
    root = install_env["DEVPUSH_DATA_ROOT"]
    # Both stacks' state directories, whichever runs: switching later needs none.
    for name in ("alloy", "otelcol", "victorialogs"):
        assert f"+ install -d -m 0755 {root}/{name}\n" in proc.stdout
    assert "DEVPUSH_LOG_STORE=loki" in proc.stdout
    assert VL_FILE not in up_line(proc.stdout)


def test_install_victorialogs(install_env: dict[str, str]) -> None:
    proc = run_script(INSTALL, "--dry-run", "--log-stack", "victorialogs", env=install_env)
    assert proc.returncode == 0, proc.stderr
    assert "DEVPUSH_LOG_STORE=victorialogs" in proc.stdout
    up = up_line(proc.stdout)
    assert f"-f {install_env['DEVPUSH_APP_DIR']}/{VL_FILE} up -d --build --wait" in up
    assert not Path(install_env["DEVPUSH_DATA_ROOT"]).exists()


def test_install_refuses_a_bad_or_conflicting_stack(install_env: dict[str, str]) -> None:
    proc = run_script(INSTALL, "--dry-run", "--log-store", "elk", env=install_env)
    assert proc.returncode == 2
    assert "--log-store needs loki or victorialogs" in proc.stderr
    # An existing .env decides: a different --log-stack says how to switch instead.
    app = Path(install_env["DEVPUSH_APP_DIR"])
    app.mkdir()
    (app / ".env").write_text("POSTGRES_PASSWORD=x\nDEVPUSH_LOG_STORE=loki\n")
    proc = run_script(INSTALL, "--dry-run", "--log-stack", "victorialogs", env=install_env)
    assert proc.returncode == 1
    assert "says the log stack is loki; to switch, edit DEVPUSH_LOG_STORE there" in proc.stderr
