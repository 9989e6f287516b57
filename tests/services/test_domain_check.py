"""The DNS check of a custom domain against a real DNS server on loopback."""

from __future__ import annotations

from pathlib import Path

from devpush.core.config import Settings
from devpush.services.domain_check import check_name, resolver_of
from devpush_dev.ports import free_port
from tests.fixtures.dns_zone import DnsZone

TARGET = "shop.apps.example.net"


def settings_for(zone: DnsZone, addresses: str = "203.0.113.7,2001:db8::7") -> Settings:
    return Settings(server_addresses=addresses, domain_dns_resolver=zone.address)


def test_an_address_of_the_server_or_a_cname_to_the_environment_verifies(
    dns_zone: DnsZone,
) -> None:
    dns_zone.records.update(
        {
            "example.com": ["203.0.113.7"],
            "v6.example.com": ["2001:db8::7"],
            "www.example.com": [f"CNAME {TARGET}"],
            TARGET: ["203.0.113.99"],
        }
    )
    settings = settings_for(dns_zone)
    for name, says in (
        ("example.com", "points at 203.0.113.7"),
        ("v6.example.com", "points at 2001:db8::7"),
        ("www.example.com", f"is a CNAME of {TARGET}"),
    ):
        result = check_name(name, environment_host=TARGET, settings=settings)
        assert result.verified, result
        assert says in result.reason
    assert {"A example.com", "AAAA example.com"} <= set(dns_zone.questions)


def test_other_answers_say_what_was_found(dns_zone: DnsZone) -> None:
    dns_zone.records.update(
        {
            "elsewhere.example.com": ["192.0.2.1"],
            "empty.example.com": [],
            "old.example.com": ["CNAME other.example.net"],
        }
    )
    settings = settings_for(dns_zone)
    elsewhere = check_name("elsewhere.example.com", environment_host=TARGET, settings=settings)
    assert not elsewhere.verified and not elsewhere.transient
    assert "points at 192.0.2.1, not at this server (203.0.113.7, 2001:db8::7" in elsewhere.reason
    empty = check_name("empty.example.com", environment_host=TARGET, settings=settings)
    assert "has no A, AAAA or CNAME record yet" in empty.reason
    old = check_name("old.example.com", environment_host=TARGET, settings=settings)
    assert "CNAME other.example.net" in old.reason and not old.verified
    missing = check_name("missing.example.com", environment_host=TARGET, settings=settings)
    assert "does not exist in DNS yet (NXDOMAIN)" in missing.reason
    # The server's address is no answer when the server does not know its own.
    dns_zone.records["example.com"] = ["203.0.113.7"]
    assert not check_name(
        "example.com", environment_host=TARGET, settings=settings_for(dns_zone, "")
    ).verified


def test_a_dns_server_that_does_not_answer_is_no_verdict() -> None:
    settings = Settings(
        domain_dns_resolver=f"127.0.0.1:{free_port()}", server_addresses="127.0.0.1"
    )
    result = check_name("example.com", environment_host=TARGET, settings=settings)
    assert not result.verified and result.transient
    assert "did not answer" in result.reason


def test_the_resolver_is_the_setting_or_resolv_confs_first(tmp_path: Path) -> None:
    assert resolver_of(Settings(domain_dns_resolver="10.0.0.53:5353")) == ("10.0.0.53", 5353)
    assert resolver_of(Settings(domain_dns_resolver="10.0.0.53")) == ("10.0.0.53", 53)
    assert resolver_of(Settings(domain_dns_resolver="[2001:db8::53]:53")) == ("2001:db8::53", 53)
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n")
    assert resolver_of(Settings(), conf) == ("192.0.2.53", 53)
