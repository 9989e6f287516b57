"""One delivery of a batch of lines to a drain's receiver; a failure says why, redacted.

https and otlp: one POST, a 2xx answer is delivered (redirects are not followed).
syslog: one TCP (or TLS) connection per batch, the messages octet-counted; delivered
once the bytes are written and the connection closed cleanly (syslog has no receipt).
Errors never carry the HMAC secret, a header's value or the URL's query string.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import httpx

from devpush.core.errors import Unavailable
from devpush.models import DrainKind
from devpush.services.drains.configure import DrainSecrets, otlp_logs_url, syslog_address
from devpush.services.drains.records import (
    DrainLine,
    ndjson_body,
    octet_counted,
    otlp_body,
    syslog_message,
)

USER_AGENT: Final = "devpush"
SIGNATURE_HEADER: Final = "X-Devpush-Signature"
DRAIN_HEADER: Final = "X-Devpush-Drain"
#: The most characters of an error kept on the drain.
ERROR_MAX_CHARS: Final = 300


class DeliveryError(Unavailable):
    """The receiver did not take the batch; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class DrainTarget:
    """Everything one delivery needs: where, how, and the secrets to sign and to hide."""

    drain_id: str
    kind: DrainKind
    url: str
    secrets: DrainSecrets
    project_slug: str
    timeout: float = 10.0
    #: TLS settings for https and syslog+tls (None: the system's CAs).
    tls: ssl.SSLContext | None = field(default=None, compare=False)

    def hidden(self) -> list[str]:
        """What an error must never show."""
        query = self.url.partition("?")[2]
        return [s for s in (self.secrets.hmac, query, *self.secrets.headers.values()) if s]


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``: the value of ``X-Devpush-Signature``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _redact(text: str, hidden: list[str]) -> str:
    for secret in hidden:
        text = text.replace(secret, "[secret]")
    return text[:ERROR_MAX_CHARS]


async def send_batch(
    target: DrainTarget, lines: Sequence[DrainLine], *, http: httpx.AsyncClient
) -> None:
    """Deliver ``lines`` (oldest first); raise :class:`DeliveryError` when not delivered."""
    try:
        if target.kind is DrainKind.SYSLOG:
            await _send_syslog(target, lines)
        else:
            await _post(target, lines, http=http)
    except DeliveryError as exc:
        raise DeliveryError(_redact(str(exc), target.hidden())) from None
    except (OSError, httpx.HTTPError, TimeoutError, ssl.SSLError) as exc:
        detail = str(exc) or type(exc).__name__
        raise DeliveryError(_redact(f"not delivered: {detail}", target.hidden())) from None


async def _post(
    target: DrainTarget, lines: Sequence[DrainLine], *, http: httpx.AsyncClient
) -> None:
    headers = {
        **target.secrets.headers,
        "User-Agent": USER_AGENT,
        DRAIN_HEADER: target.drain_id,
    }
    if target.kind is DrainKind.OTLP:
        url = otlp_logs_url(target.url)
        body = otlp_body(lines, project_slug=target.project_slug)
        headers["Content-Type"] = "application/json"
    else:
        url = target.url
        body = ndjson_body(lines, project_slug=target.project_slug)
        headers["Content-Type"] = "application/x-ndjson"
        if target.secrets.hmac:
            headers[SIGNATURE_HEADER] = signature(target.secrets.hmac, body)
    answer = await http.post(
        url, content=body, headers=headers, timeout=target.timeout, follow_redirects=False
    )
    if not answer.is_success:
        raise DeliveryError(f"the receiver answered {answer.status_code}: {answer.text[:200]}")


async def _send_syslog(target: DrainTarget, lines: Sequence[DrainLine]) -> None:
    address = syslog_address(target.url)
    tls = (target.tls or ssl.create_default_context()) if address.tls else None
    hostname = socket.gethostname()
    frames = octet_counted(
        syslog_message(line, hostname=hostname, app_name=target.project_slug) for line in lines
    )
    async with asyncio.timeout(target.timeout):
        reader, writer = await asyncio.open_connection(
            address.host, address.port, ssl=tls, server_hostname=address.host if tls else None
        )
        try:
            writer.write(frames)
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()  # done sending: the receiver closes once it has read all
            await reader.read()  # until it does (rsyslog sends nothing back)
        finally:
            writer.close()
            await writer.wait_closed()
