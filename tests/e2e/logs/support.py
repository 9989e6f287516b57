"""Helpers for the logs e2e tests (conftest modules can't be imported)."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.labels import JOB_LABEL, LOKI_JOB
from devpush.models import Deployment, DeploymentStatus, User
from devpush.services.deployments import create_deployment
from devpush.services.proxy_table import HostEntry, write_table
from devpush.workers.queue import DeployQueue
from devpush_dev.caddy import Caddy
from devpush_dev.resolver_process import Resolver
from tests.fixtures.browser import sign_in
from tests.fixtures.logstack import Runner
from tests.fixtures.web import bearer

#: How long a runner's line may take to be searchable, with a wide margin.
ARRIVAL_TIMEOUT = 30.0
PREVIEW_BRANCH = "feature/logs-e2e"


class Getter(Protocol):
    def get(self, url: str, **kwargs: Any) -> Any: ...


def runner_for(sessions: sessionmaker[Session], deployment_id: str) -> Runner:
    with sessions() as session:
        dep = session.get(Deployment, deployment_id)
        assert dep is not None
        return Runner(
            project_id=dep.project_id,
            environment_id=dep.environment_id,
            branch=dep.branch,
            deployment_id=dep.id,
        )


def runner_labels(sessions: sessionmaker[Session], deployment_id: str) -> dict[str, str]:
    """The stored fields of the deployment's runner lines, as :func:`push` sends them."""
    return asdict(runner_for(sessions, deployment_id))


def preview_deployment(sessions: sessionmaker[Session], queue: DeployQueue, project_id: str) -> str:
    """A second deployment of the project on a preview branch (its own environment)."""
    with sessions() as session:
        first = session.query(Deployment).filter_by(project_id=project_id).first()
        assert first is not None
        user = session.query(User).filter_by(id=first.created_by_id).one()
        created = create_deployment(
            session, project=first.project, branch=PREVIEW_BRANCH, created_by=user, queue=queue
        )
        session.commit()
        return created.id


def numbered(prefix: str, count: int) -> list[bytes]:
    return [f"{prefix} {i:05d}\n".encode() for i in range(count)]


def texts(lines: list[bytes]) -> list[str]:
    """What the store keeps of emitted lines: the text without its newline."""
    return [line.decode().removesuffix("\n") for line in lines]


def api_items(http: Getter, token: str, project: str, **params: object) -> list[dict[str, Any]]:
    """Every item of a query in the API's order, following ``next`` to the end."""
    headers = bearer(token)
    query = {"limit": 1000, **params}
    response = http.get(f"/api/v1/projects/{project}/logs", params=query, headers=headers)
    items: list[dict[str, Any]] = []
    for _ in range(1000):
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next"] is None:
            return items
        response = http.get(page["next"], headers=headers)
    raise AssertionError("paging did not finish")


def api_lines(http: Getter, token: str, project: str, **params: object) -> list[str]:
    return [item["line"] for item in api_items(http, token, project, **params)]


def wait_api(
    http: Getter, token: str, project: str, count: int, **params: object
) -> list[dict[str, Any]]:
    """The query's items once at least ``count`` are searchable (fails after the timeout)."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while True:
        items = api_items(http, token, project, **params)
        if len(items) >= count:
            return items
        assert time.monotonic() < deadline, f"{len(items)} of {count} lines after the timeout"
        time.sleep(0.25)


#: Alice's runner prints ``stdout`` then ``stderr`` (lines as bytes); the API's items once
#: all of them are searchable (none, at once, with ``wait=False``).
AlicePrints = Callable[..., list[dict[str, Any]]]


def shown_lines(page_html: str) -> list[str]:
    """The visible text of each rendered row (``log-text`` spans), unescaped."""
    rows = re.findall(r'<span class="log-text">(.*?)</span>\n</li>', page_html, re.DOTALL)
    return [html.unescape(re.sub(r"<[^>]+>", "", row)) for row in rows]


def until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def push(
    stack: Any, labels: dict[str, str], values: list[tuple[int, str]], *, stream: str = "stdout"
) -> None:
    """Send lines to the store as the collector does, with the timestamps a test needs
    (a runner rarely writes two lines in one nanosecond, or a late line on purpose)."""
    if stack.backend == "victorialogs":
        fields = ",".join([*labels, "stream"])
        url = f"{stack.store_url}/insert/loki/api/v1/push?_stream_fields={fields}"
        url += "&disable_message_parsing=1"
        extra: dict[str, str] = {}
    else:
        url, extra = f"{stack.store_url}/loki/api/v1/push", {JOB_LABEL: LOKI_JOB}
    rows = [[str(ts), line] for ts, line in values]
    body = {"streams": [{"stream": {**labels, **extra, "stream": stream}, "values": rows}]}
    httpx.post(url, json=body, timeout=30).raise_for_status()
    if stack.backend == "victorialogs":
        httpx.get(f"{stack.store_url}/internal/force_flush", timeout=30).raise_for_status()


@contextmanager
def log_view_page(browser: Browser, url: str, email: str) -> Iterator[Page]:
    """A page wide enough for the log views, ``email`` signed in; closed afterwards, pass
    or fail."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        log_in(page, url, email)
        yield page
    finally:
        page.close()


@dataclass(frozen=True)
class StorePusher:
    """Sends lines, (timestamp in ns, text), straight to the store with ``labels`` (a
    deployment's, as :func:`runner_labels` gives them), as that runner's collector would."""

    stack: Any
    labels: dict[str, str]

    def __call__(self, values: list[tuple[int, str]], *, stream: str = "stdout") -> None:
        push(self.stack, self.labels, values, stream=stream)


def log_in(page: Page, url: str, email: str) -> None:
    """Sign in through the login page and land on the projects."""
    # Chromium fetches /favicon.ico without the session cookie, and the app's 404 page
    # answers a cookieless request with a new session (a new CSRF token) that replaces
    # the login page's: the login then fails with 403. Not a logs matter (reported);
    # answered here so the tests cover the log views.
    page.context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    sign_in(page, url, email)
    expect(page.locator("h1")).to_contain_text("Projects")


class StandInRunner(BaseHTTPRequestHandler):
    """A runner's stand-in behind the proxy: ``app <path>`` with ``status_for(path)``'s
    status, to GET and POST alike; it logs nothing (the proxy's log is what is tested)."""

    def status_for(self, path: str) -> int:
        return 200

    def do_GET(self) -> None:
        status = self.status_for(self.path)
        body = f"app {self.path}\n".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """``handler`` served on a free loopback port (a fixture's body): its port, until the
    test ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


#: The host Alice's deployment holds in the request logs tests' proxy table.
ALICE_HOST = "shop-alice.localhost"


@dataclass
class Proxy:
    caddy: Caddy
    resolvers: list[Resolver]

    def get(self, host: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Host": host, "User-Agent": "reqlogs-e2e/1.0", **kwargs.pop("headers", {})}
        return httpx.request(
            kwargs.pop("method", "GET"),
            f"{self.caddy.http_url}{path}",
            headers=headers,
            timeout=30,
            **kwargs,
        )


def route_alice(
    sessions: sessionmaker[Session], deployment_id: str, port: int, *, branch: str | None = None
) -> None:
    """Alice's deployment runs (on ``branch``, if given) and holds ALICE_HOST, answered on
    loopback at ``port``."""
    with sessions() as session:
        deployment = session.get(Deployment, deployment_id)
        assert deployment is not None
        deployment.status = DeploymentStatus.RUNNING
        if branch is not None:
            deployment.branch = branch
        write_table(session, [HostEntry(ALICE_HOST, deployment_id, "127.0.0.1", port)])
        session.commit()
