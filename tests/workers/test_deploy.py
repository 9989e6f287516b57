"""The deploy job's decisions, without Docker: which runner yields, which step failed.

The job itself runs on the real engine in tests/e2e/test_deploy.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devpush.models import DeployStep
from devpush.services import failure
from devpush.workers.tasks.deploy import Running, to_supersede

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def at(seconds: int, deployment_id: str) -> Running:
    return Running(deployment_id, T0 + timedelta(seconds=seconds))


def test_the_new_deployment_supersedes_the_older_running_ones_oldest_first() -> None:
    mine = at(30, "new")
    assert to_supersede(mine, [at(20, "b"), at(10, "a")]) == ["a", "b"]
    assert to_supersede(mine, []) == []


def test_a_build_that_finishes_late_yields_to_a_newer_running_one() -> None:
    # "old" was created first but became ready after "newer": "old" itself yields.
    assert to_supersede(at(10, "old"), [at(20, "newer")]) == ["old"]
    # Both kinds at once: the older other yields, and so does mine (once).
    assert to_supersede(at(15, "mine"), [at(10, "a"), at(20, "b"), at(30, "c")]) == ["a", "mine"]


def test_equal_creation_times_keep_the_running_one() -> None:
    assert to_supersede(at(10, "mine"), [at(10, "other")]) == ["other"]


def _record(output: str, exit_code: int | None, step: DeployStep | None = None) -> str:
    record = failure.runner_failure(
        output.encode(), exit_code=exit_code, step=step, max_line_chars=100
    )
    return f"{record['failure_step'].label} exited with code {exit_code}"


def test_the_failed_step_is_named_from_the_runners_output() -> None:
    pre_deploy = "==> Build: make\n==> Pre-deploy: migrate\nno db\n"
    assert _record(pre_deploy + "==> Pre-deploy failed with exit code 2\n", 2) == (
        "Pre-deploy exited with code 2"
    )
    # Killed mid-step: the last step announced.
    assert _record("==> Build: make\ncompiling\n", 137) == "Build exited with code 137"
    # The start command is exec'd: its exit is the container's, with no failure line.
    assert _record("==> Start: python3 app.py\nTraceback\n", 1) == "Start exited with code 1"
    # Nothing announced in view: the start command.
    assert _record("", 4) == "Start exited with code 4"
