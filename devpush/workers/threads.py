"""The worker's background threads (the log store's watch, the drains, the health checks,
the metrics sampler, the host watch): each a daemon that runs until its stop event is set."""

from __future__ import annotations

import threading
from collections.abc import Callable


def start_thread(name: str, run: Callable[[threading.Event], object]) -> threading.Event:
    """Start ``run(stop)`` in a daemon thread called ``name``; set the returned ``stop``
    to end it."""
    stop = threading.Event()
    threading.Thread(target=run, args=(stop,), name=name, daemon=True).start()
    return stop
