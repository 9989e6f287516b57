"""``python -m devpush.resolver [--listen HOST:PORT]``: answer the proxy's lookups until stopped."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time

from devpush.core.config import get_settings
from devpush.core.db import create_db_engine, session_factory
from devpush.resolver.health import check
from devpush.resolver.server import Listen, serve


def main() -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m devpush.resolver", description=__doc__)
    parser.add_argument(
        "--listen",
        type=Listen.parse,
        default=Listen.parse(settings.proxy_resolver_addrs[0]),
        help="host:port to answer on, UDP (default: the first of DEVPUSH_PROXY_RESOLVER_ADDR)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="ask the resolver at --listen one question and exit 0 if it answered (health "
        "check; python -m devpush.resolver.health asks the same without importing devpush)",
    )
    args = parser.parse_args()
    if args.check:
        problem = check(args.listen.host, args.listen.port)
        if problem:
            sys.exit(problem)
        return
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stopped: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Only a list append: an Event.set() here could wait forever on the lock the main
        # thread's Event.wait() holds when the signal lands (devpush_dev/pipeline.py).
        signal.signal(signum, lambda received, _frame: stopped.append(received))
    server = serve(
        session_factory(create_db_engine(settings.database_url)),
        args.listen,
        not_found_port=settings.proxy_not_found_port,
    )
    logging.getLogger("devpush.resolver").info(
        "answering route lookups on %s:%d (udp)", args.listen.host, args.listen.port
    )
    while not stopped:
        time.sleep(0.2)
    server.stop()


if __name__ == "__main__":
    main()
