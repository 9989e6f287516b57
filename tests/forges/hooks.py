"""Helpers of the webhook tests: a project with a webhook, and calls to its address."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import Deployment, WebhookDelivery
from tests.fixtures.db import rows_of
from tests.fixtures.web import Member

#: The tests' project repository (tests.fixtures.web.project_input).
REPO_URL = "https://git.example.org/hello.git"
SHA_A = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
SHA_B = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
ZERO = "0" * 40


@dataclass(frozen=True)
class Hook:
    """A project's webhook as its owner got it: the address's path and the secret."""

    path: str
    secret: str
    project_id: str
    #: The whole address, as the API gave it.
    url: str = ""


def create_hook(client: httpx.Client, member: Member) -> Hook:
    """``member``'s project's webhook, made through the API (a TestClient or a live server's)."""
    response = client.post(
        f"/api/v1/projects/{member.project_slug}/webhook", headers=auth(member.token)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Hook(
        path=urlsplit(body["url"]).path,
        secret=body["secret"],
        project_id=member.project_id,
        url=body["url"],
    )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def dumps(payload: Any) -> str:
    return json.dumps(payload)


def new_delivery() -> str:
    return str(uuid.uuid4())


def post(client: TestClient, hook: Hook, body: str | bytes, headers: dict[str, str]) -> Response:
    content = body.encode() if isinstance(body, str) else body
    return client.post(
        hook.path, content=content, headers={"Content-Type": "application/json", **headers}
    )


def deliveries_of(sessions: sessionmaker[Session], project_id: str) -> list[WebhookDelivery]:
    of_project = select(WebhookDelivery).where(WebhookDelivery.project_id == project_id)
    return rows_of(sessions, of_project.order_by(WebhookDelivery.received_at))


def deployments_of(sessions: sessionmaker[Session], project_id: str) -> list[Deployment]:
    of_project = select(Deployment).where(Deployment.project_id == project_id)
    return rows_of(sessions, of_project.order_by(Deployment.created_at))
