"""The failure record from a runner's output: step, lines, caps (pure functions)."""

from __future__ import annotations

from devpush.models import DeployStep
from devpush.services.failure import (
    FAILURE_LINES,
    FAILURE_MAX_CHARS,
    TAIL_LINES,
    cap_lines,
    clean_line,
    output_lines,
    runner_failure,
    step_failure,
)


def numbered(count: int) -> list[str]:
    return [f"line {i}" for i in range(1, count + 1)]


def test_output_lines_decode_invalid_utf8_as_replacement_characters() -> None:
    raw = b"ok\r\nbad \xff\xfe byte\n\xe2\x82 cut\nlast"
    assert output_lines(raw) == ["ok", "bad \ufffd\ufffd byte", "\ufffd cut", "last"]
    assert output_lines(b"") == []
    assert output_lines(b"one\n") == ["one"]
    assert output_lines(b"\n\n") == ["", ""]


def test_clean_line_drops_nul_and_lone_surrogates_and_cuts() -> None:
    assert clean_line("a\x00b\ud800c", max_chars=100) == "a\ufffdb\ufffdc"
    assert clean_line("x" * 10, max_chars=10) == "x" * 10
    assert clean_line("x" * 11, max_chars=10) == "x" * 9 + "…"
    # HTML and ANSI are kept as they are: the page renders them safely.
    assert clean_line("\x1b[31m<b>red</b>", max_chars=100) == "\x1b[31m<b>red</b>"


def test_cap_lines_keeps_the_newest_lines_within_the_limits() -> None:
    assert cap_lines(numbered(80), max_line_chars=100) == numbered(80)[-FAILURE_LINES:]
    assert cap_lines(["a" * 30, "b" * 30, "c" * 30], max_line_chars=20) == [
        "a" * 19 + "…",
        "b" * 19 + "…",
        "c" * 19 + "…",
    ]
    # The total: the oldest lines go first.
    assert cap_lines(["a" * 10, "b" * 10, "c" * 10], max_line_chars=100, max_total_chars=25) == [
        "b" * 10,
        "c" * 10,
    ]
    # A newest line longer than the whole budget is cut to it.
    assert cap_lines(["a", "b" * 50], max_line_chars=100, max_total_chars=20) == ["b" * 19 + "…"]
    big = cap_lines(["x" * 10_000] * 50, max_line_chars=10_000)
    assert sum(map(len, big)) <= FAILURE_MAX_CHARS
    assert big == ["x" * 10_000] * (FAILURE_MAX_CHARS // 10_000)


def test_a_failed_build_keeps_its_own_last_lines() -> None:
    tail = [*numbered(80), "==> Build failed with exit code 3"][-TAIL_LINES:]
    raw = ("\n".join(tail) + "\n").encode()
    assert runner_failure(raw, exit_code=3, max_line_chars=100) == {
        "failure_step": DeployStep.BUILD,
        "exit_code": 3,
        "failure_lines": numbered(80)[-50:],
    }


def test_a_short_failed_step_keeps_only_its_lines() -> None:
    raw = (
        b"==> Deploying branch main at abc\n==> Build: make\nbuilt\n"
        b"==> Pre-deploy: migrate\nmigrating\n\x1b[31mno database\x1b[0m\n"
        b"==> Pre-deploy failed with exit code 2\n"
    )
    record = runner_failure(raw, exit_code=2, max_line_chars=100)
    assert record["failure_step"] is DeployStep.PRE_DEPLOY
    assert record["failure_lines"] == ["migrating", "\x1b[31mno database\x1b[0m"]


def test_the_start_command_and_the_ready_check_keep_the_apps_lines() -> None:
    raw = b"==> Build: skipped (no command)\n==> Start: python3 app.py\nTraceback\nBoom\n"
    record = runner_failure(raw, exit_code=1, max_line_chars=100)
    assert (record["failure_step"], record["failure_lines"]) == (
        DeployStep.START,
        ["Traceback", "Boom"],
    )
    raw = b"==> Start: python3 app.py\nnot listening\n"
    record = runner_failure(raw, exit_code=None, step=DeployStep.READY_CHECK, max_line_chars=100)
    assert record == {
        "failure_step": DeployStep.READY_CHECK,
        "exit_code": None,
        "failure_lines": ["not listening"],
    }


def test_a_step_outside_the_runner() -> None:
    assert step_failure(
        DeployStep.CLONE, lines=["git clone failed: \x00nope"], max_line_chars=100
    ) == {
        "failure_step": DeployStep.CLONE,
        "exit_code": None,
        "failure_lines": ["git clone failed: \ufffdnope"],
    }
