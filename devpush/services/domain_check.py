"""Whether a custom domain's DNS points at this server: the check behind verification.

The worker asks one DNS server (``domain_dns_resolver``, else the system's first
nameserver) for the name's A and AAAA records, following CNAMEs in the answers. The name
verifies when an address is one of the server's (``server_addresses``) or a CNAME in the
chain names the environment's host. The reason a check fails is worded for the user,
who fixes their DNS (docs/domains.md). A DNS server that does not answer is no verdict
on the name: the check is tried again.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dnslib import QTYPE, RCODE, DNSError, DNSRecord

from devpush.core.config import Settings

#: How long one DNS question waits for its answer.
TIMEOUT_SECONDS: Final = 3.0
RESOLV_CONF: Final = Path("/etc/resolv.conf")
DNS_PORT: Final = 53


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A check's outcome; ``reason`` says what was found (for a failed check, why)."""

    verified: bool
    reason: str
    #: The DNS server could not be asked: nothing is known about the name.
    transient: bool = False


def resolver_of(settings: Settings, resolv_conf: Path = RESOLV_CONF) -> tuple[str, int]:
    """The DNS server to ask: ``domain_dns_resolver`` (host:port), else resolv.conf's first."""
    if settings.domain_dns_resolver:
        host, sep, port = settings.domain_dns_resolver.rpartition(":")
        if sep and port.isdigit() and "]" not in port:
            return host.strip("[]"), int(port)
        return settings.domain_dns_resolver.strip("[]"), DNS_PORT
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            return parts[1], DNS_PORT
    return "127.0.0.1", DNS_PORT


@dataclass(frozen=True, slots=True)
class Answers:
    """What one name's A and AAAA questions found."""

    addresses: set[str]
    cnames: list[str]
    nxdomain: bool


def ask(name: str, server: tuple[str, int]) -> Answers:
    """The addresses and CNAME targets of ``name`` at ``server`` (OSError: no answer)."""
    addresses: set[str] = set()
    cnames: list[str] = []
    nxdomain = False
    host, port = server
    for qtype in ("A", "AAAA"):
        raw = DNSRecord.question(name, qtype).send(
            host, port, timeout=TIMEOUT_SECONDS, ipv6=":" in host
        )
        reply = DNSRecord.parse(raw)
        if reply.header.rcode == RCODE.NXDOMAIN:
            nxdomain = True
        elif reply.header.rcode != RCODE.NOERROR:
            raise OSError(f"the DNS server answered {RCODE[reply.header.rcode]}")
        for record in reply.rr:
            if record.rtype in (QTYPE.A, QTYPE.AAAA):
                addresses.add(str(ipaddress.ip_address(str(record.rdata))))
            elif record.rtype == QTYPE.CNAME:
                target = str(record.rdata).lower().rstrip(".")
                if target not in cnames:
                    cnames.append(target)
    return Answers(addresses, cnames, nxdomain and not addresses and not cnames)


def check_name(name: str, *, environment_host: str, settings: Settings) -> CheckResult:
    """Whether ``name`` resolves to this server (its addresses, or the environment's host)."""
    server = resolver_of(settings)
    try:
        found = ask(name, server)
    except (OSError, DNSError) as exc:
        return CheckResult(
            False, f"the DNS server {server[0]}:{server[1]} did not answer: {exc}", transient=True
        )
    target = environment_host.lower().rstrip(".")
    if target in found.cnames:
        return CheckResult(True, f"{name} is a CNAME of {target}")
    ours = [str(ipaddress.ip_address(addr)) for addr in settings.server_address_list]
    if matching := [addr for addr in ours if addr in found.addresses]:
        return CheckResult(True, f"{name} points at {', '.join(matching)}")
    if found.nxdomain:
        return CheckResult(False, f"{name} does not exist in DNS yet (NXDOMAIN)")
    if not found.addresses and not found.cnames:
        return CheckResult(False, f"{name} has no A, AAAA or CNAME record yet")
    seen = sorted(found.addresses) + [f"CNAME {cname}" for cname in found.cnames]
    wanted = ", ".join([*ours, f"CNAME {target}"])
    return CheckResult(False, f"{name} points at {', '.join(seen)}, not at this server ({wanted})")
