"""Receivers of deploy notifications for the tests, and a drain of the notify job.

- :class:`HttpReceiver`: a real ``http.server`` on 127.0.0.1 in a thread; it records every
  request and answers each path from a script of statuses (then 200), or is down.
- :class:`SmtpReceiver`: a real SMTP server (``aiosmtpd``'s ``Controller``) on 127.0.0.1.
- :func:`drain`: runs the notify jobs of a huey queue as the consumer does (due scheduled
  ones are moved to the queue, then each is run by the task body) until a condition holds.
- :class:`RecordedNotices`: the queue's notify door, recording what is announced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from aiosmtpd.controller import Controller
from huey import Huey

from devpush.services.jobs import Notice
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.notify import run_notify
from devpush_dev.ports import free_port


@dataclass
class RecordedNotices:
    """The queue's notify door: the (deployment, event) of each notice enqueued."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def enqueue_notify(self, notice: Notice, *, delay: float = 0) -> None:
        self.sent.append((notice.deployment_id, notice.event))


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class HttpReceiver:
    server: ThreadingHTTPServer
    thread: threading.Thread
    received: list[Received] = field(default_factory=list)
    #: Per path: the statuses of the next answers (then 200).
    script: dict[str, list[int]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_http_receiver() -> HttpReceiver:
    receiver: HttpReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.received.append(
                Received(self.path, dict(self.headers.items()), body, time.monotonic())
            )
            statuses = receiver.script.get(self.path, [])
            status = statuses.pop(0) if statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    receiver = HttpReceiver(server, thread)
    thread.start()
    return receiver


def http_receiver() -> Iterator[HttpReceiver]:
    receiver = start_http_receiver()
    try:
        yield receiver
    finally:
        receiver.stop()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        #: Per recipient: the reply that refuses it (``"550 5.1.1 no such mailbox"``).
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(
        self, server: object, session: object, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        self.messages.append(cast(EmailMessage, message_from_bytes(content, policy=policy.default)))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@dataclass
class SmtpReceiver:
    controller: Controller
    mailbox: _Mailbox

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages


def smtp_receiver() -> Iterator[SmtpReceiver]:
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpReceiver(controller, mailbox)
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the e-mail has no text part"
    return str(cast(EmailMessage, part).get_content()).replace("\r\n", "\n")


def drain(
    huey: Huey, ctx: WorkerContext, *, until: Callable[[], bool], timeout: float = 30
) -> None:
    """Run the queue's notify jobs with ``ctx`` as the consumer would, until ``until()``."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the notify jobs did not get there in time"
        for task in huey.read_schedule():
            huey.enqueue(task)
        task = huey.dequeue()
        if task is None:
            time.sleep(0.02)
            continue
        assert task.name == "devpush.notify", task.name
        if not huey.ready_to_run(task):  # a retry: it waits in the schedule for its time
            huey.add_schedule(task)
            continue
        run_notify(Notice(*task.args), ctx=ctx)
