"""Signal hygiene for the processes tests start and then signal.

A suite started in the background (``nohup``, ``&`` in a script, many CI runners)
inherits SIGINT and SIGQUIT as *ignored*, and an ignored signal stays ignored across
``exec``: a child the test later sends Ctrl-C's SIGINT would never see it (a shell
cannot even trap a signal ignored on entry). Every test that signals a child starts it
with ``preexec_fn=default_signals``, so the suite passes however it is started.
"""

from __future__ import annotations

import signal

#: The signals tests send to children, reset to their default action in each child.
SIGNALS_TESTS_SEND = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP)


def default_signals() -> None:
    """``preexec_fn`` for a child the test will signal: each of those signals as by default."""
    for signum in SIGNALS_TESTS_SEND:
        signal.signal(signum, signal.SIG_DFL)
