"""A small client of the JSON API; HTTP failures become ``ApiError`` with a readable message."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx
import typer
from rich.console import Console

from devpush.cli.config import CliConfig, NotLoggedInError, load_config
from devpush.cli.terminal import safe

err_console = Console(stderr=True)


class ApiError(Exception):
    """The server refused or could not be reached; ``str()`` is fit to show."""


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):  # FastAPI validation errors
        detail = "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', [])[1:])}: {item.get('msg')}"
            for item in detail
        )
    return str(detail or response.reason_phrase)


class ApiClient:
    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1", headers=headers, timeout=timeout
        )

    @classmethod
    def from_config(cls, config: CliConfig | None = None) -> ApiClient:
        config = config or load_config()
        return cls(config.url, token=config.token)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach the server: {exc}") from exc
        if response.status_code == 401:
            raise ApiError(f"{_detail(response)} (run `devpush login` again?)")
        if response.is_error:
            raise ApiError(f"{response.status_code}: {_detail(response)}")
        return response.json() if response.content else None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """Print an error and return the Exit to raise."""
    err_console.print(safe("error:", "red") + safe(f" {message}"))
    return typer.Exit(code)


def logged_in_client() -> ApiClient:
    try:
        return ApiClient.from_config()
    except NotLoggedInError as exc:
        raise fail(str(exc)) from exc


def call(method: str, path: str, **kwargs: Any) -> Any:
    """One API call with the saved login; an API error ends the command with its message."""
    try:
        with logged_in_client() as client:
            return client.request(method, path, **kwargs)
    except ApiError as exc:
        raise fail(str(exc)) from exc
