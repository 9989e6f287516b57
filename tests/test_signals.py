"""The suite's children get the signals tests send, even when the suite itself was started
with SIGINT ignored (nohup, ``&`` in a script, CI runners): tests/utils/signals.py."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.utils.signals import default_signals

# Python installs its KeyboardInterrupt handler unless SIGINT arrives ignored.
_SHOW = "import signal; print(signal.getsignal(signal.SIGINT) != signal.SIG_IGN)"


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def test_an_ignored_sigint_is_inherited_without_the_reset(sigint_ignored: None) -> None:
    done = subprocess.run([sys.executable, "-c", _SHOW], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_default_signals_gives_the_child_sigint_back(sigint_ignored: None) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SHOW],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=default_signals,
    )
    assert done.stdout.strip() == "True"


def test_a_shell_started_that_way_traps_ctrl_c(sigint_ignored: None) -> None:
    # What local.sh does: a trap on INT, which a shell cannot set for a signal ignored on entry.
    script = "trap 'echo trapped; exit 130' INT; kill -INT $$; sleep 5; echo not-trapped"
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, preexec_fn=default_signals
    )
    assert (done.returncode, done.stdout.strip()) == (130, "trapped")
