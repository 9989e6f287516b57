"""The names the resolver gives runners."""

from __future__ import annotations

from devpush.resolver.names import runner_address, runner_name


def test_a_runner_name_carries_its_ip() -> None:
    assert runner_name("10.0.0.7") == "10-0-0-7.runners.devpush."
    assert runner_address("10-0-0-7.runners.devpush.") == "10.0.0.7"
    assert runner_address("10-0-0-7.RUNNERS.devpush") == "10.0.0.7"  # any case, any dot
    for other in (
        "shop.localhost",
        "10-0-0-7.elsewhere.",
        "10-0-0.runners.devpush.",
        "10-0-0-999.runners.devpush.",
        "a.10-0-0-7.runners.devpush.",
        "runners.devpush.",
    ):
        assert runner_address(other) is None, other
