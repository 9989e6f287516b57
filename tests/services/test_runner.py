"""The runner container spec and step script (pure functions; the script runs under /bin/sh)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from docker.models.containers import Container

from devpush.core.config import Settings
from devpush.core.labels import RUNNER_LABELS
from devpush.models import DeployStep
from devpush.services import runner
from devpush.services.git import Commit
from devpush.services.runner import (
    Steps,
    failed_step,
    ready_url,
    run_script,
    runner_container_spec,
    runner_environment,
    source_archive,
    step_output,
    upstream_address,
    working_dir,
)
from tests.fixtures.runner import printed_lines, run_sh, runner_spec

SPEC = runner_spec(branch="feature/x", commit_sha="0123456789abcdef0123", root_directory="web")


def spec_for(settings: Settings) -> dict:
    return runner_container_spec(spec=SPEC, environment={"A": "1"}, settings=settings)


def test_labels_are_the_runner_labels_plus_the_role() -> None:
    labels = spec_for(Settings())["labels"]
    assert {k: labels[k] for k in RUNNER_LABELS} == {
        "devpush.project_id": "p1",
        "devpush.environment_id": "e1",
        "devpush.branch": "feature/x",
        "devpush.deployment_id": "d1",
    }
    assert labels["devpush.role"] == "runner"
    assert set(labels) == {*RUNNER_LABELS, "devpush.role"}


def test_log_config_is_json_file_with_rotation_from_settings() -> None:
    settings = Settings(runner_log_max_size="3m", runner_log_max_file=7)
    log_config = spec_for(settings)["log_config"]
    assert log_config["Type"] == "json-file"
    assert log_config["Config"] == {
        "max-size": "3m",
        "max-file": "7",
        "labels": "devpush.project_id,devpush.environment_id,devpush.branch,devpush.deployment_id",
    }
    assert "loki" not in repr(spec_for(settings)).lower()


def test_limits_network_port_and_working_dir() -> None:
    settings = Settings(runner_memory="256m", runner_cpus=0.5, runner_network="net-x")
    kwargs = spec_for(settings)
    assert kwargs["mem_limit"] == "256m"
    assert kwargs["nano_cpus"] == 500_000_000
    assert kwargs["network"] == "net-x-p1"  # the project's own (services/networks.py)
    # No published port: the proxy reaches the app on the runner network.
    assert "ports" not in kwargs
    assert kwargs["working_dir"] == "/app/web"
    assert kwargs["name"] == "devpush-runner-d1"
    assert kwargs["command"] == ["/bin/sh", "/devpush/run.sh"]
    assert kwargs["environment"] == {"A": "1"}
    assert kwargs["init"] is True


@pytest.mark.parametrize(
    ("root", "expected"), [("", "/app"), ("/", "/app"), ("a/b/", "/app/a/b"), ("./x", "/app/x")]
)
def test_working_dir(root: str, expected: str) -> None:
    assert working_dir(root) == expected


def test_working_dir_refuses_leaving_the_source() -> None:
    with pytest.raises(ValueError, match="inside the repository"):
        working_dir("../etc")


def test_environment_precedence_platform_wins() -> None:
    env = runner_environment(
        spec=SPEC,
        project_vars={"A": "project", "B": "project", "PORT": "1"},
        environment_vars={"B": "environment"},
    )
    assert env["A"] == "project"
    assert env["B"] == "environment"
    assert env["PORT"] == "8000"
    assert env["DEVPUSH_BRANCH"] == "feature/x"
    assert env["DEVPUSH_COMMIT_SHA"] == SPEC.commit_sha


def main_script(steps: Steps, *, commit_sha: str = "abc", commit_message: str = "") -> str:
    """The run script of ``steps`` on branch main."""
    return run_script(steps=steps, branch="main", commit=Commit(commit_sha, commit_message))


def test_script_tells_the_story_and_runs_each_step(tmp_path: Path) -> None:
    script = main_script(
        Steps(build="echo building; echo 'it''s'", pre_deploy="", start="echo started"),
        commit_sha="abcdef1234567890",
        commit_message="Add thing\n\nLong body",
    )
    assert printed_lines(script, tmp_path) == [
        "==> Deploying branch main at abcdef123456: Add thing",
        "==> Build: echo building; echo 'it''s'",
        "building",
        "its",
        "==> Pre-deploy: skipped (no command)",
        "==> Start: echo started",
        "started",
    ]


def test_a_failing_step_stops_the_script_with_its_code(tmp_path: Path) -> None:
    script = main_script(
        Steps(build="echo ok", pre_deploy="echo migrating; exit 3", start="echo never")
    )
    done = run_sh(script, tmp_path)
    assert done.returncode == 3
    assert "never" not in done.stdout
    assert done.stdout.splitlines()[-1] == "==> Pre-deploy failed with exit code 3"
    assert failed_step(done.stdout.splitlines(), 3) is DeployStep.PRE_DEPLOY


def test_commands_and_messages_are_not_interpolated(tmp_path: Path) -> None:
    script = main_script(
        Steps(build="", pre_deploy="", start="echo '$HOME' \"$0\""),
        commit_message="$(touch pwned) `touch pwned2`",
    )
    lines = printed_lines(script, tmp_path)
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "pwned2").exists()
    assert "$(touch pwned)" in lines[0]


def test_source_archive_has_the_checkout_without_git_and_the_script(tmp_path: Path) -> None:
    (tmp_path / "src" / ".git").mkdir(parents=True)
    (tmp_path / "src" / ".git" / "HEAD").write_text("ref")
    (tmp_path / "src" / "app.py").write_text("print()")
    data = source_archive(source_dir=tmp_path / "src", script="#!/bin/sh\n")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = set(tar.getnames())
        script = tar.getmember("devpush/run.sh")
    assert {"app", "app/app.py", "devpush", "devpush/run.sh"} <= names
    assert not any(".git" in name for name in names)
    assert script.mode == 0o755


def test_failed_step_reads_the_scripts_markers() -> None:
    started = ["==> Deploying branch x", "==> Build: make", "ok", "==> Start: run", "Traceback"]
    assert failed_step(started, 1) is DeployStep.START
    # The script's own failure line names the step, if its code is the runner's.
    build_failed = [*[f"line {i}" for i in range(50)], "==> Build failed with exit code 3"]
    assert failed_step(build_failed, 3) is DeployStep.BUILD
    assert failed_step(build_failed, 1) is DeployStep.START  # the app printed it, then exited 1
    # Killed mid-step (no failure line): the last step announced.
    assert failed_step(["==> Build: make", "compiling"], 137) is DeployStep.BUILD
    # No marker left in view: the exec'd start command exited.
    assert failed_step(["nothing"], 1) is DeployStep.START


def test_step_output_is_what_the_step_printed() -> None:
    lines = [
        "==> Deploying branch x",
        "==> Build: make",
        "compiling",
        "error: nope",
        "==> Build failed with exit code 2",
    ]
    assert step_output(lines, DeployStep.BUILD) == ["compiling", "error: nope"]
    started = ["==> Pre-deploy: skipped (no command)", "==> Start: run", "Traceback", "Boom"]
    assert step_output(started, DeployStep.START) == ["Traceback", "Boom"]
    # The announcement scrolled out of the tail: every line is the step's.
    assert step_output(["a", "b"], DeployStep.START) == ["a", "b"]


def _inspected(networks: dict[str, object], env: list[str] | None = None) -> Container:
    # A container as `docker inspect` describes it: plain data, no engine involved.
    return Container(
        attrs={
            "Name": "/devpush-abc",
            "Config": {"Env": env or []},
            "NetworkSettings": {"Networks": networks},
        }
    )


def test_ready_url_by_ip_on_the_runner_network() -> None:
    attached = _inspected({"bridge": {"IPAddress": "172.17.0.9"}, "net": {"IPAddress": "10.9.0.2"}})
    assert ready_url(attached, 8000, via="container_ip", network="net") == "http://10.9.0.2:8000/"
    # Not attached (or not started yet): no address to ask.
    assert ready_url(_inspected({}), 8000, via="container_ip", network="net") is None
    assert (
        ready_url(_inspected({"net": {"IPAddress": ""}}), 1, via="container_ip", network="net")
        is None
    )


def test_ready_url_by_name_on_the_runner_network() -> None:
    url = ready_url(_inspected({}), 8000, via="container_name", network="net")
    assert url == "http://devpush-abc:8000/"


def test_upstream_is_the_address_and_the_port_the_runner_was_given() -> None:
    runner = _inspected({"net": {"IPAddress": "10.9.0.2"}}, env=["A=1", "PORT=3000"])
    assert upstream_address(runner, network="net") == ("10.9.0.2", 3000)
    portless = _inspected({"net": {"IPAddress": "10.9.0.2"}}, env=["PORT="])
    assert upstream_address(portless, network="net") is None


def test_rollback_script_starts_the_app_without_a_build_step() -> None:
    script = runner.rollback_script(
        deployment_id="0123456789abcdef",
        commit_sha="f" * 40,
        start="python3 app.py; echo 'quoted'",
        unset=["OLD_SECRET"],
    )
    assert "==> Rollback: starting the build of deployment 01234567 (commit ffffffffffff)" in script
    assert "Build" not in script and "Pre-deploy" not in script
    assert "unset OLD_SECRET 2>/dev/null || true" in script
    assert script.rstrip().endswith("exec sh -c 'python3 app.py; echo '\"'\"'quoted'\"'\"''")


def test_stale_variables_are_the_builds_own_that_are_gone() -> None:
    stale = runner.stale_variables(
        image_env=["PATH=/bin", "OLD=1", "KEPT=1", "PORT=8000"],
        base_env=["PATH=/bin"],
        environment={"KEPT": "2", "PORT": "8000"},
    )
    assert stale == ["OLD"]


def test_build_image_name() -> None:
    assert runner.build_image_name(project_id="p1", deployment_id="d1") == "devpush-build/p1:d1"


def test_a_new_tasks_restart_script_builds_again_and_skips_the_pre_deploy(
    tmp_path: Path,
) -> None:
    script = runner.task_restart_script(
        steps=Steps(build="echo building", pre_deploy="echo migrating", start="echo started"),
        reason="the health check GET / (expects 200) failed 3 times in a row\nsecond line",
    )
    assert printed_lines(script, tmp_path) == [
        "==> Restart: the health check GET / (expects 200) failed 3 times in a row",
        "==> Build: echo building",
        "building",
        "==> Pre-deploy: skipped (it ran before the start)",
        "==> Start: echo started",
        "started",
    ]
    failing = runner.task_restart_script(
        steps=Steps(build="exit 4", pre_deploy="", start="echo never"), reason="r"
    )
    done = run_sh(failing, tmp_path)
    assert done.returncode == 4
    assert failed_step(done.stdout.splitlines(), 4) is DeployStep.BUILD
