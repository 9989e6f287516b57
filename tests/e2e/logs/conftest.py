"""The logs e2e suite: the app reads the real log stack (tests/fixtures/logstack.py).

Lines come from real labelled runner containers (the ``emit`` fixture) through the
collector into the store; every runner carries the ids of a real deployment row, so the
views, the API and the CLI find its lines exactly as they find a deployment's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.workers.queue import DeployQueue
from devpush_dev.caddy import start_caddy
from devpush_dev.log_stacks import LogStack
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import Resolver, start_resolver
from tests.fixtures.web import TwoTeams

if TYPE_CHECKING:
    from devpush_dev.caddy import Caddy
    from tests.e2e.logs.support import AlicePrints, Proxy, StorePusher


@pytest.fixture
def log_store_url(running_log_stack: Any) -> str:
    """The real store, up (the default fixture is a store that is down)."""
    return str(running_log_stack.store_url)


@pytest.fixture
def settings(settings: Settings, running_log_stack: Any) -> Settings:
    # The backend the stack runs (``--log-store``), not the default fixture's.
    return settings.model_copy(update={"log_store": running_log_stack.backend})


@pytest.fixture
def alice_runner(two_teams: TwoTeams, sessions: sessionmaker[Session]) -> Any:
    """A Runner for Alice's deployment: its lines are that deployment's."""
    from tests.e2e.logs.support import runner_for

    return runner_for(sessions, two_teams.alice.deployment_id)


@pytest.fixture
def preview_runner(two_teams: TwoTeams, sessions: sessionmaker[Session], queue: DeployQueue) -> Any:
    """A Runner for a second deployment of Alice's project, on a preview branch."""
    from tests.e2e.logs.support import preview_deployment, runner_for

    return runner_for(sessions, preview_deployment(sessions, queue, two_teams.alice.project_id))


@pytest.fixture
def http(live_url: str) -> Iterator[httpx.Client]:
    """The served app over HTTP (a TestClient would open the same app on a second event
    loop; the CLI talks to it too)."""
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client


@pytest.fixture
def alice_prints(
    two_teams: TwoTeams, alice_runner: Any, emit: Callable[..., Any], http: httpx.Client
) -> AlicePrints:
    """Alice's runner prints the lines given; the API's items once all are searchable, or
    none at once with ``wait=False`` (a live view that must see them arrive)."""
    from tests.e2e.logs.support import wait_api

    def prints(
        stdout: Sequence[bytes] = (), stderr: Sequence[bytes] = (), *, wait: bool = True
    ) -> list[dict[str, Any]]:
        emit(alice_runner, stdout=list(stdout), stderr=list(stderr))
        if not wait:
            return []
        alice = two_teams.alice
        return wait_api(http, alice.token, alice.project_slug, len(stdout) + len(stderr))

    return prints


@pytest.fixture
def alice_pushes(
    two_teams: TwoTeams, sessions: sessionmaker[Session], running_log_stack: Any
) -> StorePusher:
    """Lines sent straight to the store as Alice's deployment's, with the times given."""
    from tests.e2e.logs.support import StorePusher, runner_labels

    return StorePusher(running_log_stack, runner_labels(sessions, two_teams.alice.deployment_id))


@pytest.fixture
def proxy(settings: Settings, running_log_stack: LogStack, tmp_path: Path) -> Iterator[Proxy]:
    """Caddy writing its access log where the stack's collector reads it, and its resolvers."""
    from tests.e2e.logs.support import Proxy

    access_log = running_log_stack.plan.proxy_access_log
    assert access_log is not None, "this log stack's collector reads no proxy access log"
    proxy_settings = Settings(
        proxy_admin_url=f"http://127.0.0.1:{free_port()}",
        public_port=free_port(),
        proxy_resolver_addr=f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}",
        proxy_not_found_port=free_port(),
        proxy_access_log=str(access_log),
    )
    resolvers: list[Resolver] = []
    caddy: Caddy | None = None
    try:
        for n, address in enumerate(proxy_settings.proxy_resolver_addrs):
            resolvers.append(
                start_resolver(
                    database_url=settings.database_url,
                    address=address,
                    not_found_port=proxy_settings.proxy_not_found_port,
                    state_dir=tmp_path / f"resolver-{n}",
                )
            )
        caddy = start_caddy(settings=proxy_settings, state_dir=tmp_path / "caddy")
        yield Proxy(caddy, resolvers)
    finally:
        if caddy is not None:
            caddy.stop()
        for resolver in resolvers:
            resolver.stop()
