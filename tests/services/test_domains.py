"""Custom domains without a network: name validation, the DNS records shown, the proxy
entries of verified domains, the back-off of the checks."""

from __future__ import annotations

import pytest

from devpush.core.config import Settings
from devpush.core.errors import InvalidInput
from devpush.services import proxy_table
from devpush.services.domains import DnsRecord, dns_records, normalize_name, twin
from devpush.workers.tasks.domains import RETRY_DELAYS, retry_delay


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("example.com", "example.com"),
        ("  WWW.Example.COM. ", "www.example.com"),
        ("shop.example.co.uk", "shop.example.co.uk"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("a-b.example.org", "a-b.example.org"),
    ],
)
def test_good_names_are_stored_lowercase_ascii_without_the_final_dot(raw: str, stored: str) -> None:
    assert normalize_name(raw, platform_domain="apps.example.net") == stored


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "give a domain name"),
        ("   ", "give a domain name"),
        ("203.0.113.7", "is an IP address"),
        ("2001:db8::1", "is an IP address"),
        ("[2001:db8::1]", "is an IP address"),
        ("localhost", "it needs a dot"),
        ("*.example.com", "wildcard"),
        ("https://example.com", "no scheme, port or path"),
        ("example.com:8443", "no scheme, port or path"),
        ("example.com/shop", "no scheme, port or path"),
        ("-bad.example.com", "inner dashes"),
        ("bad-.example.com", "inner dashes"),
        ("under_score.example.com", "inner dashes"),
        ("a..example.com", "inner dashes"),
        (f"{'a' * 64}.example.com", "at most 63 characters"),
        (".".join(["abcdefghi"] * 26) + ".com", "at most 253 characters"),
        ("example.123", "its last part is a number"),
        ("apps.example.net", "under this server's own domain"),
        ("shop.apps.example.net", "under this server's own domain"),
        ("Shop.Apps.Example.Net.", "under this server's own domain"),
    ],
)
def test_bad_names_are_refused_with_the_reason(raw: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says.replace("*", r"\*")):
        normalize_name(raw, platform_domain="apps.example.net")


def test_the_twin_of_an_apex_is_its_www_and_back() -> None:
    assert twin("example.com") == "www.example.com"
    assert twin("www.example.com") == "example.com"
    assert twin("shop.example.com") == "www.shop.example.com"


def test_the_records_shown_are_the_servers_addresses_or_a_cname_off_the_apex() -> None:
    settings = Settings(server_addresses="203.0.113.7, 2001:db8::7")
    target = "shop.apps.example.net"
    assert dns_records("example.com", target_host=target, settings=settings) == [
        DnsRecord("A", "example.com", "203.0.113.7"),
        DnsRecord("AAAA", "example.com", "2001:db8::7"),
    ]
    assert dns_records("www.example.com", target_host=target, settings=settings) == [
        DnsRecord("CNAME", "www.example.com", "shop.apps.example.net."),
        DnsRecord("A", "www.example.com", "203.0.113.7"),
        DnsRecord("AAAA", "www.example.com", "2001:db8::7"),
    ]
    # A server that does not say its addresses: the CNAME is all it can offer.
    assert dns_records("example.com", target_host=target, settings=Settings()) == [
        DnsRecord("CNAME", "example.com", "shop.apps.example.net.")
    ]


def _live(deployment: str, environment: str, address: str) -> proxy_table.LiveDeployment:
    return proxy_table.LiveDeployment(
        deployment_id=deployment,
        environment_id=environment,
        host_label="shop",
        environment_name="production",
        production=True,
        address=address,
        port=8000,
    )


def test_a_verified_domain_follows_its_environments_newest_runner_or_redirects() -> None:
    live = [_live("d1", "prod", "10.0.0.2"), _live("d2", "prod", "10.0.0.3")]
    custom = [
        proxy_table.CustomDomain("example.com", "prod", redirects=False),
        proxy_table.CustomDomain("www.example.com", "prod", redirects=True),
        proxy_table.CustomDomain("idle.example.org", "preview", redirects=False),
    ]
    entries = proxy_table.entries_for(live, domain="localhost", custom=custom, redirect_port=8405)
    by_host = {entry.host: entry for entry in entries}
    assert by_host["example.com"] == proxy_table.HostEntry("example.com", "d2", "10.0.0.3", 8000)
    assert by_host["www.example.com"] == proxy_table.HostEntry(
        "www.example.com", "d2", proxy_table.REDIRECT_ADDRESS, 8405
    )
    # Its environment runs nothing: not served (the resolvers answer the 404 server).
    assert "idle.example.org" not in by_host
    assert by_host["shop.localhost"].deployment_id == "d2"


def test_checks_back_off_then_give_up() -> None:
    delays = [retry_delay(n) for n in range(1, len(RETRY_DELAYS) + 2)]
    assert delays[:3] == [15, 30, 60]
    assert delays[-1] is None
    waits = [delay for delay in delays if delay is not None]
    assert waits == sorted(set(waits))  # each pause longer than the one before
