"""One try at delivering a message, and whether another try may help.

A try ends in a :class:`SendResult`: ok, the receiver's HTTP status or SMTP reply code,
what went wrong, and whether to try again (a connection error, a timeout, a 5xx or 429
answer, a 4xx SMTP reply; never another 4xx HTTP answer nor a 5xx SMTP reply). The
errors never carry a secret: the channel's secret and the SMTP password are cut out of
them, and the URL (a Slack URL is itself a secret) is never part of them.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Final

import httpx

from devpush.core.config import Settings

USER_AGENT: Final = "devpush"
SIGNATURE_HEADER: Final = "X-Devpush-Signature"
EVENT_HEADER: Final = "X-Devpush-Event"
DELIVERY_HEADER: Final = "X-Devpush-Delivery"
#: The most characters of an error kept on an attempt.
ERROR_MAX_CHARS: Final = 500


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str = ""
    retry: bool = False


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``: the value of ``X-Devpush-Signature``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def redact(text: str, secrets: list[str | None]) -> str:
    """``text`` without any of ``secrets``, cut to :data:`ERROR_MAX_CHARS`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    return text[:ERROR_MAX_CHARS]


def _retry_status(code: int) -> bool:
    return code >= 500 or code == 429


def post_json(
    url: str, body: bytes, *, headers: dict[str, str], timeout: float, secrets: list[str | None]
) -> SendResult:
    """POST ``body`` as JSON; a 2xx answer is ok. Redirects are not followed."""
    try:
        response = httpx.post(
            url,
            content=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
            timeout=timeout,
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        return SendResult(ok=False, error=f"no answer within {timeout:g} s", retry=True)
    except httpx.HTTPError as exc:
        # The exception's text may hold the URL: only its kind and cause are kept.
        cause = exc.__cause__ or exc.__context__
        detail = f": {cause}" if cause is not None else ""
        error = redact(f"{type(exc).__name__}{detail}", [url, *secrets])
        return SendResult(ok=False, error=error, retry=isinstance(exc, httpx.TransportError))
    code = response.status_code
    if 200 <= code < 300:
        return SendResult(ok=True, status_code=code)
    answer = " ".join(response.text[:200].split())
    error = redact(f"the receiver answered {code}" + (f": {answer}" if answer else ""), secrets)
    return SendResult(ok=False, status_code=code, error=error, retry=_retry_status(code))


def webhook_headers(*, secret: str, body: bytes, event: str, delivery: str) -> dict[str, str]:
    return {
        SIGNATURE_HEADER: signature(secret, body),
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery,
    }


def send_email(message: EmailMessage, *, settings: Settings) -> SendResult:
    """Send through the configured SMTP server (``DEVPUSH_SMTP_*``)."""
    host = settings.smtp_host
    if not host:
        return SendResult(ok=False, error="no SMTP server is configured (DEVPUSH_SMTP_HOST)")
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    timeout = settings.notification_timeout_seconds
    try:
        smtp: smtplib.SMTP
        if settings.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                host, settings.smtp_port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, settings.smtp_port, timeout=timeout)
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username and password:
                smtp.login(settings.smtp_username, password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        return _smtp_refused(code, reply, [password])
    except smtplib.SMTPResponseException as exc:
        return _smtp_refused(exc.smtp_code, exc.smtp_error, [password])
    except (OSError, smtplib.SMTPException) as exc:
        error = redact(f"SMTP server {host}:{settings.smtp_port}: {exc}", [password])
        return SendResult(ok=False, error=error, retry=True)
    return SendResult(ok=True, status_code=250)


def _smtp_refused(code: int, reply: bytes | str, secrets: list[str | None]) -> SendResult:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    error = redact(f"the SMTP server refused: {code} {text}", secrets)
    # 4xx replies are transient by SMTP's own rules; 5xx are final.
    return SendResult(ok=False, status_code=code, error=error, retry=400 <= code < 500)
