"""A small DNS server over UDP (dnslib) whose zone is the proxy table.

It answers two questions, with TTL 0 (Caddy keeps each answer for its own refresh time):
- ``SRV <host>.``: the runner serving that host (one answer per replica in swarm mode),
  named after its deployment and its IP
  on the runner network (``<deployment>.<environment>.<project>.10-0-0-7.runners.devpush.``,
  with the branch before them: ``names.route_name``), and its app port;
- ``A …10-0-0-7.runners.devpush.``: 10.0.0.7, read from the name itself. So a runner
  whose routes just went still resolves while Caddy uses a cached SRV answer for it.
- ``SRV`` of any other name: Caddy's own 404 server (``proxy_config.not_found_server``),
  a real answer: Caddy keeps its last answer when a lookup fails (its grace period), so
  a name that goes must be told where to go, never left with an error.
Any other question is NXDOMAIN. When the database cannot be read, the
last answer given for the name is repeated: the deployments keep their URLs through a
database outage, as they would with a config in the proxy.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

from dnslib import QTYPE, RCODE, RR, SRV, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from devpush.resolver.names import RouteLabels, route_name, runner_address, runner_name
from devpush.services import proxy_config, proxy_table

log = logging.getLogger(__name__)

#: What one lookup finds: the SRV targets and port (several: a deployment's replicas), or
#: an IP, or nothing (NXDOMAIN).
Answer = list[tuple[str, int]] | str | None


@dataclass(frozen=True)
class Listen:
    """Where the resolver binds, from ``host:port``."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listen:
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected host:port, not {text!r}")
        return cls(host, int(port))


#: Answers kept for an unreadable table: far more than the names a server routes.
MAX_REMEMBERED = 20_000


class HostResolver(BaseResolver):  # type: ignore[misc]  # dnslib has no types
    """dnslib's resolver interface over the proxy table, read at every question."""

    def __init__(self, sessions: sessionmaker[Session], *, not_found_port: int) -> None:
        self._sessions = sessions
        self._not_found = (runner_name(proxy_config.NOT_FOUND_ADDRESS), not_found_port)
        # The last answer per (name, type) for the names the table holds, newest last: what
        # is repeated while the table cannot be read. Names no route holds are not kept
        # (anyone can ask for any name), and the oldest go past MAX_REMEMBERED.
        self._last: OrderedDict[tuple[str, int], tuple[Answer, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        question = request.q
        name, qtype = str(question.qname), int(question.qtype)
        key = (name.lower(), qtype)
        try:
            answer, known = self._lookup(name, qtype)
        except SQLAlchemyError as exc:
            with self._lock:
                cached = self._last.get(key)
            log.warning("proxy table unreadable (%s); last answer for %s repeated", exc, name)
            if cached is None:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            answer, known = cached
        else:
            self._remember(key, answer, known)
        if isinstance(answer, list):
            for target, port in answer:
                srv = SRV(0, 0, port, target)
                reply.add_answer(RR(question.qname, QTYPE.SRV, rdata=srv, ttl=0))
        elif isinstance(answer, str):
            reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(answer), ttl=0))
        elif not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply  # a known name asked for another type: no records (NODATA)

    def _remember(self, key: tuple[str, int], answer: Answer, known: bool) -> None:
        with self._lock:
            if not known:
                self._last.pop(key, None)
                return
            self._last[key] = (answer, known)
            self._last.move_to_end(key)
            while len(self._last) > MAX_REMEMBERED:
                self._last.popitem(last=False)

    def _lookup(self, name: str, qtype: int) -> tuple[Answer, bool]:
        """The answer for ``name`` and ``qtype``, and whether the name exists at all."""
        address = runner_address(name)
        if address is not None:  # the name carries it: no table to read
            return (address if qtype == QTYPE.A else None), True
        with self._sessions() as session:
            found = proxy_table.entry_and_deployment(session, name)
            if found is None:
                return ([self._not_found] if qtype == QTYPE.SRV else None), False
            route, deployment = found
            if qtype == QTYPE.SRV:
                # The target names the deployment too: Caddy's access log records it.
                labels = RouteLabels(
                    project_id=deployment.project_id,
                    environment_id=deployment.environment_id,
                    branch=deployment.branch,
                    deployment_id=deployment.id,
                )
                # Each replica's IP (swarm mode), each its own answer: Caddy spreads over
                # them and skips one that does not answer.
                targets = [(route_name(ip, labels), route.port) for ip in route.address.split()]
                return targets, True
            return None, True


def serve(sessions: sessionmaker[Session], listen: Listen, *, not_found_port: int) -> DNSServer:
    """Start answering on ``listen`` (UDP) in a background thread; ``.stop()`` ends it.

    ``not_found_port``: where Caddy's 404 server listens (``proxy_not_found_port``)."""
    # Only malformed questions are news; answers are too many to log.
    quiet = DNSLogger(log="error", prefix=False, logf=log.warning)
    resolver = HostResolver(sessions, not_found_port=not_found_port)
    server = DNSServer(resolver, port=listen.port, address=listen.host, logger=quiet)
    server.start_thread()
    return server
