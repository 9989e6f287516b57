"""The failure record of a deployment, from its runner's last output (pure functions).

When a deploy fails the worker keeps, on the deployment row, the step that failed,
its exit code and the last :data:`FAILURE_LINES` lines that step printed, read
from Docker before the runner can be removed. The page and the API show them even
when the log store cannot answer.

The lines are untrusted: invalid UTF-8, NUL and lone surrogates become U+FFFD,
each line is cut at ``Settings.log_line_max_chars`` characters and the record at
:data:`FAILURE_MAX_CHARS` in all (the oldest lines go first). HTML and ANSI stay
as they are: the page renders them with ``devpush.logs.render.render_line``.
"""

from __future__ import annotations

import re
from typing import Final, TypedDict

from devpush.models import DeployStep
from devpush.services.runner import failed_step, step_output

#: How many of the failed step's last lines are kept.
FAILURE_LINES: Final = 50
#: How many lines to ask Docker for: the step's lines and the script's own failure line.
TAIL_LINES: Final = FAILURE_LINES + 1
#: The most characters one record keeps, all lines together.
FAILURE_MAX_CHARS: Final = 50_000

_UNSAFE: Final = re.compile(r"[\x00\ud800-\udfff]")
_CUT_MARK: Final = "…"


class FailureColumns(TypedDict):
    """The deployment columns a failure sets (see ``devpush.models.Deployment``)."""

    failure_step: DeployStep
    exit_code: int | None
    failure_lines: list[str]


# A step whose output is another step's: the ready check waits on the start command.
_OUTPUT_OF: Final = {DeployStep.READY_CHECK: DeployStep.START}


def output_lines(raw: bytes) -> list[str]:
    """Docker's output as lines (invalid UTF-8 as U+FFFD), without the final newline."""
    lines = raw.decode("utf-8", "replace").split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def clean_line(line: str, *, max_chars: int) -> str:
    """One line fit to store: no NUL or lone surrogate, at most ``max_chars`` characters."""
    line = _UNSAFE.sub("\ufffd", line)
    if len(line) <= max_chars:
        return line
    return line[: max_chars - 1] + _CUT_MARK if max_chars > 1 else line[:max_chars]


def cap_lines(
    lines: list[str],
    *,
    max_line_chars: int,
    max_lines: int = FAILURE_LINES,
    max_total_chars: int = FAILURE_MAX_CHARS,
) -> list[str]:
    """The last ``max_lines`` lines, each cleaned, fitting ``max_total_chars`` together."""
    kept: list[str] = []
    budget = max_total_chars
    for line in reversed(lines[-max_lines:] if max_lines > 0 else []):
        line = clean_line(line, max_chars=max_line_chars)
        if len(line) > budget:
            if not kept and budget > 0:  # the newest line alone is too long: cut it
                kept.append(clean_line(line, max_chars=budget))
            break
        kept.append(line)
        budget -= len(line)
    kept.reverse()
    return kept


def runner_failure(
    raw: bytes,
    *,
    exit_code: int | None,
    max_line_chars: int,
    step: DeployStep | None = None,
) -> FailureColumns:
    """The deployment columns of a failure, from the runner's last :data:`TAIL_LINES` lines.

    ``step`` is read from the script's markers when not given (it needs ``exit_code``).
    """
    lines = output_lines(raw)
    if step is None:
        step = failed_step(lines, exit_code) if exit_code is not None else DeployStep.START
    output = step_output(lines, _OUTPUT_OF.get(step, step))
    return {
        "failure_step": step,
        "exit_code": exit_code,
        "failure_lines": cap_lines(output, max_line_chars=max_line_chars),
    }


def step_failure(step: DeployStep, *, lines: list[str], max_line_chars: int) -> FailureColumns:
    """The deployment columns of a failure outside the runner (the clone, for example)."""
    return {
        "failure_step": step,
        "exit_code": None,
        "failure_lines": cap_lines(lines, max_line_chars=max_line_chars),
    }
