"""Deployment URLs through a real Caddy: deploy, open, redeploy under load, stop.

The hello-python example is deployed by a real worker process (the one of
tests/e2e/conftest.py); Caddy runs as the pinned build (Compose's version) on loopback
ports with two route resolvers, and requests name the deployment's host in their Host
header (no DNS involved).
Chromium opens the same URL by name: it resolves ``*.localhost`` to loopback.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dnslib import DNSRecord
from fastapi.testclient import TestClient
from playwright.sync_api import Browser
from sqlalchemy import select

from devpush.main import create_app
from devpush.models import (
    DeploymentStatus,
    Project,
    ProxyTableRow,
    TeamMember,
    TeamRole,
)
from devpush.services import hosts, proxy_config
from devpush.services.deployments import cancel_deployment
from devpush.services.tokens import create_token
from devpush.services.users import create_user
from devpush_dev import processes
from devpush_dev.caddy import Caddy, loopback_settings, start_caddy
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import start_resolver
from tests.e2e.proxy_polling import Poller, env_host, host_of, poll_more, through_proxy
from tests.e2e.support import Stack, first_running, hello, wait_exited

pytestmark = pytest.mark.docker


def routing_state(stack: Stack, caddy: Caddy, host: str, child: processes.Child) -> str:
    """What a failed routing assertion needs to be understood: the proxy table, what each
    resolver answers for ``host``, the project's runners, a fresh answer, the worker's log."""
    with stack.sessions() as session:
        rows = session.scalars(select(ProxyTableRow)).all()
        table = [f"{r.host} -> {r.deployment_id[:8]} {r.address}:{r.port}" for r in rows]
    answers = []
    for address in caddy.settings.proxy_resolver_addrs:
        resolver_host, _, port = address.rpartition(":")
        try:
            reply = DNSRecord.parse(
                DNSRecord.question(f"{host}.", "SRV").send(resolver_host, int(port), timeout=2)
            )
            answers.append(f"{address}: {[str(rr.rdata) for rr in reply.rr]}")
        except OSError as exc:
            answers.append(f"{address}: {exc!r}")
    runners = [
        f"{c.name} {c.status} {[n['IPAddress'] for n in c.attrs['NetworkSettings']['Networks'].values()]}"  # noqa: E501
        for c in stack.ctx.docker.containers.list(
            all=True, filters={"label": f"devpush.project_id={stack.project_id}"}
        )
    ]
    fresh = through_proxy(caddy, host)
    return (
        f"\nproxy table: {table}\nresolvers: {answers}\nrunners: {runners}\n"
        f"fresh answer: {fresh.status_code} {fresh.text!r}\nworker log:\n{child.log_tail()}"
    )


@pytest.fixture
def caddy(tmp_path: Path) -> Iterator[Caddy]:
    """A Caddy of each test's own: these tests send it configs, kill its resolvers and ask
    for names no other test's cache may have answered (conftest's is one per module)."""
    proxy = start_caddy(settings=loopback_settings(), state_dir=tmp_path / "caddy")
    yield proxy
    proxy.stop()


def test_the_admin_client_reports_a_missing_or_refusing_proxy(caddy: Caddy) -> None:
    nobody = caddy.settings.model_copy(
        update={"proxy_admin_url": f"http://127.0.0.1:{free_port()}"}
    )
    with pytest.raises(proxy_config.ProxyError, match="did not answer"):
        proxy_config.load_config(proxy_config.build_config(nobody), nobody)
    bad = proxy_config.build_config(caddy.settings)
    bad["apps"]["http"]["servers"]["devpush"]["listen"] = ["not an address"]
    with pytest.raises(proxy_config.ProxyError, match="refused the config"):
        proxy_config.load_config(bad, caddy.settings)
    # The proxy kept its previous config. No resolver answers here: after its retries,
    # every name gets the lookup failure's 503 (an outage is not a missing name).
    answer = through_proxy(caddy, "nothing.localhost")
    assert (answer.status_code, answer.text) == (503, proxy_config.LOOKUP_FAILED_BODY)
    # Anything else is still the 404, as is every name while the worker has not yet
    # given the proxy its config (Docker/caddy/initial.json).
    other = through_proxy(caddy, "127.0.0.1")
    assert (other.status_code, other.text) == (404, proxy_config.NOT_FOUND_BODY)


def test_the_config_is_sent_only_when_the_proxy_runs_another(caddy: Caddy) -> None:
    settings = caddy.settings
    proxy_config.ensure_proxy_config(settings)
    assert proxy_config.running_config(settings) == proxy_config.build_config(settings)
    assert proxy_config.ensure_proxy_config(settings) is False  # already running it
    # A proxy restarted without its saved config runs its initial one: it gets it back.
    proxy_config.load_config(proxy_config.initial_config(settings), settings)
    assert proxy_config.ensure_proxy_config(settings) is True
    assert proxy_config.running_config(settings) == proxy_config.build_config(settings)


def test_environment_url_follows_deploys_without_a_failed_request(
    stack: Stack,
    worker: Callable[..., processes.Child],
    caddy: Caddy,
    browser: Browser,
) -> None:
    settings = stack.settings
    child, queue, first = first_running(stack, worker)
    first_id = first.id

    with stack.sessions() as session:
        first = stack.load(session, first_id)
        env_url = hosts.environment_url(first.environment, settings)
        first_url = hosts.deployment_url(first, settings)
    port = caddy.settings.public_port
    assert env_url == f"http://hello.localhost:{port}/"
    assert first_url == f"http://{first_id[:8]}-hello.localhost:{port}/"
    first_hello = hello(first)
    assert through_proxy(caddy, host_of(env_url)).text == first_hello
    # The API gives the same addresses (the CLI prints them after a deploy).
    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        user = create_user(session, email="urls@example.org", password="correct horse battery")
        session.add(TeamMember(team_id=project.team_id, user=user, role=TeamRole.MEMBER))
        _, token = create_token(session, user=user, name="urls")
        session.commit()
    with TestClient(create_app(settings)) as client:
        shown = client.get(
            f"/api/v1/deployments/{first_id}", headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert (shown["url"], shown["environment_url"]) == (first_url, env_url)
    assert through_proxy(caddy, host_of(first_url)).text == first_hello
    missing = through_proxy(caddy, "nothing-hello.localhost")
    assert (missing.status_code, missing.text) == (404, proxy_config.NOT_FOUND_BODY)

    # Chromium opens the environment URL by name (*.localhost is loopback to it).
    page = browser.new_page()
    page.goto(env_url)
    assert page.inner_text("body").strip() == first_hello.strip()
    page.close()

    # Redeploy a new commit while a client requests the environment URL in a loop.
    stack.commit_build_line("second build", "Second build")
    pollers = [Poller(caddy, host_of(env_url), keep_alive=k) for k in (False, True)]
    for poller in pollers:
        poller.start()
    started = time.monotonic()
    second = stack.redeploy_running(first_id, queue, child)
    second_id = second.id
    stack.wait_for(first_id, {DeploymentStatus.SUPERSEDED})
    with stack.sessions() as session:
        assert wait_exited(stack.container(stack.load(session, first_id))) == "exited"
    # And 50 more requests each after the old runner stopped (none may fail).
    poll_more(pollers, 50)
    for poller in pollers:
        poller.done.set()
        poller.join(timeout=10)
    elapsed = time.monotonic() - started
    second_hello = hello(second)
    for poller in pollers:
        print(
            f"\nredeploy under load (keep-alive {poller.keep_alive}): {poller.total} requests "
            f"in {elapsed:.1f} s, {len(poller.failures)} failed, answers {dict(poller.answers)}"
        )
        # Not one failed request: no reset, no bad gateway, no 404, no wrong answer.
        assert poller.failures == [], poller.failures[:5]
        assert set(poller.answers) == {first_hello, second_hello}, routing_state(
            stack, caddy, host_of(env_url), child
        )
        assert poller.total > 50
    # Now the environment answers from the new deployment only.
    assert through_proxy(caddy, host_of(env_url)).text == second_hello

    # The superseded deployment's URL is gone (Caddy's 404), and the page shows no address.
    gone = through_proxy(caddy, host_of(first_url))
    assert (gone.status_code, gone.text) == (404, proxy_config.NOT_FOUND_BODY)
    with stack.sessions() as session:
        second_url = hosts.deployment_url(stack.load(session, second_id), settings)
        assert hosts.deployment_url(stack.load(session, first_id), settings) is None
    assert second_url is not None
    assert through_proxy(caddy, host_of(second_url)).text == second_hello

    # Stopping the running deployment takes its URLs away: 404, not a bad gateway.
    with stack.sessions() as session:
        cancel_deployment(session, deployment=stack.load(session, second_id), queue=queue)
    stack.wait_for(second_id, {DeploymentStatus.STOPPED})
    with stack.sessions() as session:
        assert wait_exited(stack.container(stack.load(session, second_id))) == "exited"
    for url in (env_url, second_url):
        answer = through_proxy(caddy, host_of(url))
        assert (answer.status_code, answer.text) == (404, proxy_config.NOT_FOUND_BODY)


def test_a_killed_resolver_fails_no_request(
    stack: Stack,
    worker: Callable[..., processes.Child],
    caddy: Caddy,
    tmp_path: Path,
) -> None:
    settings = stack.settings
    child, queue, first = first_running(stack, worker)
    first_id = first.id
    env = env_host(stack, first_id)
    first_hello = hello(first)
    assert through_proxy(caddy, env).text == first_hello

    # A visitor every 20 ms, each on a new connection (so Caddy dials the runner, and
    # looks its name up, for each); one of the two resolvers is SIGKILLed a second in.
    poller = Poller(caddy, env, keep_alive=False, every=0.02)
    poller.start()
    time.sleep(1)
    killed = stack.resolvers[0]
    assert killed.child.kill() == -signal.SIGKILL
    time.sleep(10)
    poller.done.set()
    poller.join(timeout=20)
    print(
        f"\none resolver killed: {poller.total} requests in 11 s, "
        f"{len(poller.failures)} failed, answers {dict(poller.answers)}"
    )
    assert poller.failures == [], poller.failures[:5]
    assert set(poller.answers) == {first_hello}
    assert poller.total > 100  # it ran all along (500 at best, fewer on a loaded machine)

    # Both down: the known name's answer is kept (grace period), but a name never asked
    # has no answer to keep: its own 503, not the 404 of a name no deployment holds.
    stack.resolvers[1].stop()
    lost = through_proxy(caddy, "never-asked-hello.localhost")
    assert (lost.status_code, lost.text) == (503, proxy_config.LOOKUP_FAILED_BODY)
    assert lost.headers["Retry-After"] == "1"

    # Back (as a supervisor would restart them): the same addresses, the same database.
    stack.resolvers[:] = [
        start_resolver(
            database_url=settings.database_url,
            address=address,
            not_found_port=settings.proxy_not_found_port,
            state_dir=tmp_path / f"resolver-again-{n}",
        )
        for n, address in enumerate(settings.proxy_resolver_addrs)
    ]
    # The name no deployment holds is a 404 again once Caddy asks again (its refresh).
    deadline = time.monotonic() + 10
    while (answer := through_proxy(caddy, "never-asked-hello.localhost")).status_code != 404:
        assert time.monotonic() < deadline, (answer.status_code, answer.text)
        time.sleep(0.2)
    assert answer.text == proxy_config.NOT_FOUND_BODY

    # And a new deployment's URL works.
    stack.commit_build_line("after the outage", "After the outage")
    second = stack.redeploy_running(first_id, queue, child)
    second_id = second.id
    second_hello = hello(second)
    with stack.sessions() as session:
        second_url = hosts.deployment_url(stack.load(session, second_id), settings)
    assert second_url is not None
    assert through_proxy(caddy, host_of(second_url)).text == second_hello
    assert through_proxy(caddy, env).text == second_hello
