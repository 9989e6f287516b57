"""Each kind of drain delivers to a real receiver on loopback, from a real store:
an HTTP server (checking the HMAC), Debian's rsyslogd and our OpenTelemetry Collector.
A drain sees only its own project's lines and its filters' ones; a receiver that was
down gets every line once it is back."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.core.crypto import fernet_for
from devpush.core.db import create_db_engine, session_factory
from devpush.core.migrate import upgrade_to_head
from devpush.models import DrainKind, EnvironmentKind, LogDrain
from devpush.services.drains.configure import DrainCreate, create_drain
from devpush.services.drains.delivery import DrainTiming
from devpush.services.drains.senders import SIGNATURE_HEADER, signature
from tests.fixtures.db import row_of
from tests.services.drains.conftest import DrainRig, add_projects, drain_settings, drains_running
from tests.utils.drains import OtlpReceiver, Rsyslog, Store, line, start_rsyslog, wait_for
from tests.utils.notify import HttpReceiver, start_http_receiver

FAST_RETRY = DrainTiming(poll_seconds=0.3, first_retry_seconds=0.3, max_retry_seconds=2.0)


def _ndjson(receiver: HttpReceiver, path: str) -> list[dict[str, object]]:
    return [json.loads(row) for r in receiver.on(path) for row in r.body.splitlines() if row]


def _messages(receiver: HttpReceiver, path: str) -> list[str]:
    return [str(record["message"]) for record in _ndjson(receiver, path)]


def test_https_drains_send_signed_ndjson_of_their_own_project_only(
    rig: DrainRig, receiver: HttpReceiver
) -> None:
    projects = rig.projects
    mine, mine_secret = rig.add(kind=DrainKind.HTTPS, url=f"{receiver.url}/mine")
    other, _ = rig.add(projects.other, kind=DrainKind.HTTPS, url=f"{receiver.url}/other")
    assert mine_secret
    tag = uuid.uuid4().hex[:8]
    rig.store.insert(
        [line(f"mine {tag} {i}", project_id=projects.mine.id) for i in range(5)]
        + [line(f"other {tag} {i}", project_id=projects.other.id) for i in range(3)]
    )
    with rig.run():
        wait_for("5 lines at /mine", lambda: len(_messages(receiver, "/mine")) >= 5)
        wait_for("3 lines at /other", lambda: len(_messages(receiver, "/other")) >= 3)
        wait_for("the status", lambda: rig.row(mine.id).delivered_lines == 5)
        wait_for("the status", lambda: rig.row(other.id).delivered_lines == 3)
    assert sorted(_messages(receiver, "/mine")) == [f"mine {tag} {i}" for i in range(5)]
    assert sorted(_messages(receiver, "/other")) == [f"other {tag} {i}" for i in range(3)]
    for request in receiver.on("/mine"):
        assert request.headers[SIGNATURE_HEADER] == signature(mine_secret, request.body)
        assert request.headers["Content-Type"] == "application/x-ndjson"
        assert request.headers["X-Devpush-Drain"] == mine.id
    record = _ndjson(receiver, "/mine")[0]
    assert record["projectId"] == projects.mine.id
    assert record["source"] == "stdout"
    assert record["project"] == "hello"
    status = rig.row(mine.id)
    assert status.delivered_lines == 5
    assert status.last_delivery_at is not None
    assert status.lines_behind == 0
    assert status.last_error == ""
    assert rig.row(other.id).delivered_lines == 3


def test_filters_choose_environment_source_and_level(rig: DrainRig, receiver: HttpReceiver) -> None:
    rig.add(
        kind=DrainKind.HTTPS,
        url=f"{receiver.url}/f",
        environment=EnvironmentKind.PREVIEW,
        sources=["stderr", "request"],
        min_level="warning",
    )
    pid = rig.projects.mine.id
    preview = "env-preview"
    rig.store.insert(
        [
            line(
                "ERROR in production", project_id=pid, environment_id=rig.projects.mine_production
            ),
            line("ERROR on stdout", project_id=pid, environment_id=preview),
            line("INFO on stderr", project_id=pid, environment_id=preview, stream="stderr"),
            line("no level on stderr", project_id=pid, environment_id=preview, stream="stderr"),
            line("WARNING on stderr", project_id=pid, environment_id=preview, stream="stderr"),
            line(
                "GET /boom 500 3ms level=error",
                project_id=pid,
                environment_id=preview,
                stream=None,
                source="request",
            ),
            line("ERROR last", project_id=pid, environment_id=preview, stream="stderr"),
        ]
    )
    with rig.run():
        wait_for("the last line", lambda: "ERROR last" in _messages(receiver, "/f"))
    assert _messages(receiver, "/f") == [
        "WARNING on stderr",
        "GET /boom 500 3ms level=error",
        "ERROR last",
    ]
    sources = [record["source"] for record in _ndjson(receiver, "/f")]
    assert sources == ["stderr", "request", "stderr"]


def test_syslog_drain_delivers_rfc5424_to_rsyslog(rig: DrainRig, rsyslog: Rsyslog) -> None:
    rig.add(kind=DrainKind.SYSLOG, url=rsyslog.url)
    pid = rig.projects.mine.id
    texts = ['plain "quoted" ] line', "ERROR: it broke", "naïve ünïcode"]
    rig.store.insert([line(text, project_id=pid, deployment_id="dep-9") for text in texts])
    rig.store.insert([line("not mine", project_id=rig.projects.other.id)])
    with rig.run():
        wait_for("3 messages in rsyslog", lambda: len(rsyslog.received()) >= 3)
        time.sleep(1)  # nothing more arrives
    received = rsyslog.received()
    assert [r.message for r in received] == texts
    assert {(r.app_name, r.procid, r.msgid) for r in received} == {("hello", "dep-9", "stdout")}
    assert [r.severity for r in received] == [6, 3, 6]
    assert f'project="{pid}"' in received[0].structured_data
    assert received[0].structured_data.startswith("[devpush@32473 ")


def test_otlp_drain_delivers_to_an_opentelemetry_collector(
    rig: DrainRig, otlp: OtlpReceiver
) -> None:
    rig.add(kind=DrainKind.OTLP, url=otlp.url, headers={"Authorization": "Bearer k-123"})
    pid = rig.projects.mine.id
    rig.store.insert(
        [
            line("otlp one", project_id=pid),
            line("ERROR otlp two", project_id=pid, stream="stderr"),
        ]
    )
    with rig.run():
        wait_for("2 records in the collector", lambda: len(otlp.records()) >= 2)
    records = otlp.records()
    assert [r["body"] for r in records] == ["otlp one", "ERROR otlp two"]
    assert records[1]["severity"] == "ERROR"
    assert records[1]["devpush.source"] == "stderr"
    assert records[0]["service.name"] == "hello"
    assert records[0]["devpush.project_id"] == pid


def test_an_https_receiver_down_for_a_while_gets_every_line_once_back(rig: DrainRig) -> None:
    """The outage path with a short outage (8 s) and short back-off: the same code path
    as the 60 s outage below, in a fraction of the time."""
    receiver = start_http_receiver()
    port = receiver.server.server_address[1]
    url = receiver.url
    receiver.stop()  # down from the start
    drain, _ = rig.add(kind=DrainKind.HTTPS, url=f"{url}/d")
    pid = rig.projects.mine.id
    expected = [f"outage line {i}" for i in range(40)]
    back: HttpReceiver | None = None
    try:
        with rig.run(timing=FAST_RETRY):
            rig.store.insert([line(text, project_id=pid) for text in expected[:20]])
            wait_for("the drain to fail", lambda: "not delivered" in rig.row(drain.id).last_error)
            time.sleep(4)
            rig.store.insert([line(text, project_id=pid) for text in expected[20:]])
            wait_for(
                "the backlog on the status", lambda: (rig.row(drain.id).lines_behind or 0) >= 30
            )
            time.sleep(2)
            back = start_http_receiver_on(port)
            wait_for("every line", lambda: len(_messages(back, "/d")) >= 40, timeout=60)  # type: ignore[arg-type]
    finally:
        if back is not None:
            back.stop()
    assert sorted(_messages(back, "/d"), key=lambda t: int(t.split()[-1])) == expected
    status = rig.row(drain.id)
    assert status.last_delivery_at is not None and status.last_error_at is not None
    assert status.last_delivery_at > status.last_error_at


def start_http_receiver_on(port: int) -> HttpReceiver:
    """:func:`start_http_receiver` again on ``port`` (the one the drain sends to)."""
    from http.server import ThreadingHTTPServer

    original = ThreadingHTTPServer.__init__

    def bind_port(self: ThreadingHTTPServer, address: tuple[str, int], *args: object) -> None:
        original(self, (address[0], port), *args)  # type: ignore[arg-type]

    ThreadingHTTPServer.__init__ = bind_port  # type: ignore[method-assign,assignment]
    try:
        return start_http_receiver()
    finally:
        ThreadingHTTPServer.__init__ = original  # type: ignore[method-assign]


def _self_signed(root: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


class TlsSyslogReceiver:
    """A syslog-over-TLS receiver (RFC 5425 framing: octet counting) in a thread."""

    def __init__(self, cert: Path, key: Path) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.messages: list[bytes] = []
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                plain, _ = self._listener.accept()
            except OSError:
                return  # closed by stop()
            try:
                with self._context.wrap_socket(plain, server_side=True) as conn:
                    self._read(conn)
            except (ssl.SSLError, OSError):
                continue  # a client that refused the certificate

    def _read(self, conn: ssl.SSLSocket) -> None:
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
            while b" " in data:
                length, _, rest = data.partition(b" ")
                if len(rest) < int(length):
                    break
                self.messages.append(rest[: int(length)])
                data = rest[int(length) :]

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        self._thread.join(timeout=5)


def test_syslog_over_tls_checks_the_certificate_and_delivers(rig: DrainRig, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    receiver = TlsSyslogReceiver(cert, key)
    try:
        drain, _ = rig.add(kind=DrainKind.SYSLOG, url=f"syslog+tls://127.0.0.1:{receiver.port}")
        rig.store.insert([line("over tls", project_id=rig.projects.mine.id)])
        # The system's CAs do not trust this certificate: refused, and said so.
        with rig.run(timing=FAST_RETRY):
            wait_for("a TLS error", lambda: rig.row(drain.id).last_error)
        assert "CERTIFICATE_VERIFY_FAILED" in rig.row(drain.id).last_error
        assert receiver.messages == []
        trusted = ssl.create_default_context(cafile=str(cert))
        with rig.run(timing=FAST_RETRY, tls=trusted):
            wait_for("the line over TLS", lambda: receiver.messages)
        (message,) = receiver.messages
        assert message.startswith(b"<14>1 ")
        assert message.endswith(b"\xef\xbb\xbfover tls")
    finally:
        receiver.stop()


def test_a_drain_too_far_behind_skips_the_oldest_lines_and_says_so(
    rig: DrainRig, receiver: HttpReceiver
) -> None:
    """The bounded buffer: past ``max_lines_behind`` the oldest lines are skipped (and
    counted), the newest still arrive."""
    drain, _ = rig.add(kind=DrainKind.HTTPS, url=f"{receiver.url}/b")
    time.sleep(2.2)
    now = datetime.now(UTC)
    texts = [f"buffered {i}" for i in range(200)]
    rig.store.insert(
        line(text, project_id=rig.projects.mine.id, at=now - timedelta(milliseconds=2000 - 10 * i))
        for i, text in enumerate(texts)
    )
    timing = DrainTiming(poll_seconds=0.3, batch_lines=10, max_lines_behind=50)
    with rig.run(timing=timing):
        wait_for("the newest line", lambda: "buffered 199" in _messages(receiver, "/b"))
        wait_for(
            "its batch recorded",
            lambda: rig.row(drain.id).delivered_lines == len(_messages(receiver, "/b")),
        )
    got = _messages(receiver, "/b")
    status = rig.row(drain.id)
    assert status.skipped_lines > 0
    assert len(got) < 200
    assert status.delivered_lines == len(got)
    # In order, each once, the newest all there: what was skipped is the oldest ones.
    assert got == sorted(set(got), key=lambda text: int(text.split()[-1]))
    assert got[-20:] == texts[-20:]
    # Skips are counted by time buckets: a line at the cursor's own time may count twice.
    assert 200 <= status.skipped_lines + len(got) <= 202


SIXTY_SECONDS_TEST = "test_rsyslog_down_for_60_seconds_gets_every_line_once_back"
#: The outage's whole run: 60 s down, a back-off round (up to 30 s) and the start-ups.
SIXTY_SECONDS_RUN = 150.0


@dataclass
class Outage:
    """The full 60 s outage, run in a thread beside the module's other tests."""

    root: Path
    store: Store
    before: Rsyslog
    expected: list[str] = field(default_factory=lambda: [f"sixty {i}" for i in range(30)])
    after: Rsyslog | None = None
    down_seconds: float = 0.0
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def run(self, sessions: sessionmaker[Session], settings: Settings, drain_id: str) -> None:
        """Lines before, at the start of and 30 s into a real 60 s outage of rsyslog,
        then rsyslog again on its port; the worker's own back-off (DrainTiming's
        defaults)."""
        fernet = fernet_for(settings.secret_key.get_secret_value())
        pid = row_of(sessions, LogDrain, drain_id).project_id
        expected = self.expected
        try:
            with drains_running(sessions, settings, fernet, timing=DrainTiming()):
                self.store.insert([line(text, project_id=pid) for text in expected[:10]])
                wait_for("the first lines", lambda: len(self.before.received()) >= 10)
                self.before.stop()
                down_at = time.monotonic()
                self.store.insert([line(text, project_id=pid) for text in expected[10:20]])
                wait_for(
                    "the drain to fail", lambda: row_of(sessions, LogDrain, drain_id).last_error
                )
                time.sleep(30)
                self.store.insert([line(text, project_id=pid) for text in expected[20:]])
                time.sleep(max(0.0, 60 - (time.monotonic() - down_at)))
                self.after = after = start_rsyslog(self.root / "after", port=self.before.port)
                self.down_seconds = time.monotonic() - down_at
                # Back-off is at most 30 s (with jitter): every line within that and a round.
                wait_for("every line", lambda: len(after.received()) >= 20, timeout=45)
        except BaseException as exc:  # handed to the test
            self.error = exc

    def wait(self) -> None:
        """Until the run ends; its error, if any, raised here."""
        assert self.thread is not None
        self.thread.join(timeout=SIXTY_SECONDS_RUN)
        assert not self.thread.is_alive(), f"the outage's run took over {SIXTY_SECONDS_RUN}s"
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.join(timeout=SIXTY_SECONDS_RUN)
        self.before.stop()
        if self.after is not None:
            self.after.stop()


@pytest.fixture(scope="module", autouse=True)
def sixty_second_outage(
    request: pytest.FixtureRequest, store: Store, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outage | None]:
    """Starts the 60 s outage with the module's first test, so the others run during its
    wait (it is real: the receiver is down 60 s); its test, last in the module, checks it.
    Nothing starts when that test is not selected."""
    if not any(item.name == SIXTY_SECONDS_TEST for item in request.session.items):
        yield None
        return
    root = tmp_path_factory.mktemp("sixty-seconds")
    db_url = f"sqlite:///{root / 'devpush.sqlite3'}"
    upgrade_to_head(db_url)
    engine = create_db_engine(db_url)
    settings = drain_settings(db_url, store)
    outage = Outage(root=root, store=store, before=start_rsyslog(root / "before"))
    try:
        sessions = session_factory(engine)
        with sessions() as session:
            drain, _ = create_drain(
                session,
                project=add_projects(session).mine,
                data=DrainCreate(kind=DrainKind.SYSLOG, url=outage.before.url),
                fernet=fernet_for(settings.secret_key.get_secret_value()),
            )
        outage.thread = threading.Thread(
            target=outage.run, args=(sessions, settings, drain.id), name="sixty-second outage"
        )
        outage.thread.start()
        yield outage
    finally:
        outage.stop()
        engine.dispose()


def test_rsyslog_down_for_60_seconds_gets_every_line_once_back(
    sixty_second_outage: Outage | None,
) -> None:
    """The full 60 s outage (the fixture runs it beside the module's other tests)."""
    outage = sixty_second_outage
    assert outage is not None, "the outage fixture starts when this test is selected"
    outage.wait()
    assert outage.down_seconds >= 60
    assert outage.after is not None
    got = [r.message for r in outage.before.received()] + [
        r.message for r in outage.after.received()
    ]
    assert sorted(set(got), key=lambda t: int(t.split()[-1])) == outage.expected
