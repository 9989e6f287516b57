"""Deployment host names and URLs, built from rows (no proxy involved)."""

from __future__ import annotations

import re

from devpush.core.config import Settings
from devpush.services.hosts import (
    MAX_HOST_LABEL,
    deployment_host,
    dns_label,
    environment_host,
    free_host_label,
    labels_clash,
    public_url,
)

DOMAIN = "localhost"


def test_host_names() -> None:
    assert deployment_host(deployment_id="3f2a9c01deadbeef", host_label="shop", domain=DOMAIN) == (
        "3f2a9c01-shop.localhost"
    )
    production = environment_host(
        environment_name="production", production=True, host_label="shop", domain="example.com"
    )
    assert production == "shop.example.com"
    preview = environment_host(
        environment_name="feature/New_Cart", production=False, host_label="shop", domain=DOMAIN
    )
    assert preview == "feature-new-cart-shop.localhost"


def test_long_names_stay_one_dns_label_and_distinct() -> None:
    slug = "s" * 40
    a = environment_host(
        environment_name="x" * 60 + "a", production=False, host_label=slug, domain=DOMAIN
    )
    b = environment_host(
        environment_name="x" * 60 + "b", production=False, host_label=slug, domain=DOMAIN
    )
    for host in (a, b):
        label = host.removesuffix(".localhost")
        assert len(label) <= 63 and label.endswith(slug)
        assert dns_label(label) == label
    assert a != b


def test_public_urls_leave_out_default_ports() -> None:
    assert public_url("shop.localhost", Settings(public_port=8080)) == "http://shop.localhost:8080/"
    https = Settings(public_scheme="https", public_port=None)
    assert public_url("shop.example.com", https) == "https://shop.example.com/"
    assert public_url("a.example.com", Settings(public_scheme="https", public_port=443)) == (
        "https://a.example.com/"
    )


def test_host_labels_clash_when_one_is_the_others_tail() -> None:
    assert labels_clash("shop", "shop")
    assert labels_clash("preview-shop", "shop")  # preview-shop.<domain> is shop's preview
    assert labels_clash("shop", "a1b2c3d4-shop")  # a deployment host of "shop"
    assert not labels_clash("shop", "shopping")
    assert not labels_clash("shop", "shop-acme")


def test_a_free_host_label_keeps_the_slug_then_adds_the_team_then_a_hash() -> None:
    assert free_host_label("shop", team_slug="acme", salt="p1", taken=[]) == "shop"
    assert free_host_label("shop", team_slug="acme", salt="p1", taken=["shop"]) == "shop-acme"
    hashed = free_host_label("shop", team_slug="acme", salt="p1", taken=["shop", "shop-acme"])
    assert re.fullmatch(r"shop-[0-9a-f]{6}", hashed)
    assert hashed != free_host_label(
        "shop", team_slug="acme", salt="p2", taken=["shop", "shop-acme"]
    )
    # Long names fit, and leave room for an environment's prefix.
    long = free_host_label("x" * 100, team_slug="t" * 100, salt="p1", taken=["x" * MAX_HOST_LABEL])
    assert len(long) <= MAX_HOST_LABEL and not labels_clash(long, "x" * MAX_HOST_LABEL)
    # Every host of a label ends in it: the environment and deployment hosts below.
    host = environment_host(
        environment_name="y" * 63, production=False, host_label=long, domain=DOMAIN
    )
    assert host.endswith(f"-{long}.{DOMAIN}")
