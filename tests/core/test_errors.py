"""One error map: every domain error derives from DevpushError and carries its status and
message; the app answers one no route caught with them (JSON for the API and htmx, the
error page otherwise)."""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

import devpush
from devpush.core.errors import DevpushError, NotFound, TooManyRequests

PACKAGE = Path(devpush.__file__).parent

#: Exceptions that are control flow inside one module or another program, never a
#: route's answer: the CLI's (it talks HTTP, not devpush's core), the worker's job outcomes,
#: the queue's configuration, the sign-in redirect, a webhook body cut short.
NOT_DOMAIN = {
    "devpush.cli.client.ApiError",
    "devpush.cli.config.NotLoggedInError",
    "devpush.cli.logs._Cut",
    "devpush.workers.tasks.deploy.DeployFailed",
    "devpush.workers.tasks.deploy.DeploymentGone",
    "devpush.workers.queue.QueueConfigError",
    "devpush.deps.LoginRequiredError",
    "devpush.api.hooks.BodyTooLargeError",
}


def exception_classes() -> list[str]:
    """Every class under devpush/ (outside migrations) whose name or base says it is an error."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(base).split(".")[-1].endswith(("Error", "Exception"))
                or ast.unparse(base).split(".")[-1] in {"LookupError", "ValueError"}
                for base in node.bases
            ):
                found.append(f"{module}.{node.name}")
    return found


def test_every_domain_error_derives_from_devpush_error() -> None:
    classes = exception_classes()
    assert len(classes) > 25, classes  # the walk found them
    outside = []
    for name in classes:
        if name in NOT_DOMAIN:
            continue
        module, _, attr = name.rpartition(".")
        cls = getattr(importlib.import_module(module), attr)
        if not (inspect.isclass(cls) and issubclass(cls, DevpushError)):
            outside.append(name)
    assert outside == [], f"errors outside devpush.core.errors.DevpushError: {outside}"
    assert not NOT_DOMAIN - set(classes), "NOT_DOMAIN names a class that is gone"


class Gone(NotFound):
    user_message = "the thing is gone"


@pytest.fixture
def erring(web_app: FastAPI) -> Iterator[TestClient]:
    router = APIRouter()

    @router.get("/api/v1/test-error")
    @router.get("/test-error")
    def fail() -> None:
        raise Gone("row 7 missing")

    @router.get("/api/v1/test-limited")
    def limited() -> None:
        raise TooManyRequests("slow down", retry_after=9)

    web_app.include_router(router)
    with TestClient(web_app) as client:
        yield client


def test_a_domain_error_is_answered_with_its_status_and_message(erring: TestClient) -> None:
    client = erring
    answer = client.get("/api/v1/test-error")
    assert (answer.status_code, answer.json()) == (404, {"detail": "the thing is gone"})
    limited = client.get("/api/v1/test-limited")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "9"
    assert limited.json() == {"detail": "slow down"}
    # htmx gets the same JSON, a page the error page.
    htmx = client.get("/test-error", headers={"HX-Request": "true"})
    assert (htmx.status_code, htmx.json()) == (404, {"detail": "the thing is gone"})
    page = client.get("/test-error")
    assert page.status_code == 404 and "the thing is gone" in page.text
    assert page.headers["content-type"].startswith("text/html")
