"""start_thread: the worker's background threads run until their stop event is set."""

from __future__ import annotations

import threading

from devpush.workers.threads import start_thread


def test_the_thread_runs_as_a_named_daemon_until_stopped() -> None:
    ran = threading.Event()
    seen: list[threading.Thread] = []

    def run(stop: threading.Event) -> None:
        seen.append(threading.current_thread())
        ran.set()
        stop.wait()

    stop = start_thread("test-thread", run)
    assert ran.wait(10)
    (thread,) = seen
    assert (thread.name, thread.daemon) == ("test-thread", True)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
