"""``devpush logs PROJECT``: print a project's logs, page by page, and follow new lines.

Like ``heroku logs --tail`` / ``fly logs``: history first (each page printed as it comes),
then with ``--follow`` the live tail (``/logs/tail``, NDJSON), resumed from the last line's
cursor after a dropped connection or a log store outage. ``--download FILE`` saves the whole
range through ``/logs/download`` (txt, or NDJSON with ``--json``) as the server streams it.
On a terminal, ANSI colours are kept and every other escape sequence (hyperlinks included)
is dropped (devpush.cli.terminal): a log line can't disguise a link, retitle or otherwise
drive the terminal. Piped output gets the lines as they were written. A JSON line (the API's
``structured``) prints as its level and message; ``--raw`` prints every line as stored.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Final

import httpx
import typer
from rich.console import Console

from devpush.cli.client import ApiClient, ApiError, fail, logged_in_client
from devpush.cli.config import NotLoggedInError, load_config
from devpush.cli.projects import ProjectArg
from devpush.cli.terminal import coloured, safe

console = Console(highlight=False, soft_wrap=True)
#: The server's page says ``partial``: a clustered log store answered without some nodes.
PARTIAL_NOTICE: Final = "some log storage nodes did not answer: lines may be missing"

#: Seconds before the tail reconnects after the log store failed or the connection dropped.
RECONNECT_SECONDS: Final = 5.0
PAGE_SIZE: Final = 1000


def _tag(item: dict[str, Any]) -> str:
    """``out``, ``err``, or ``req`` for the proxy's request entries."""
    if item.get("source") == "request":
        return "req"
    return "err" if item.get("stream") == "stderr" else "out"


def shown_text(item: dict[str, Any], *, raw: bool = False) -> str:
    """The line as written, or a JSON line's ``<level> <message>`` (unless ``raw``); a
    request's line (``GET /path 200 12ms``) is followed by its host and client."""
    request = item.get("request")
    if isinstance(request, dict):
        extra = [f"{key}={request[key]}" for key in ("host", "client") if request.get(key)]
        return " ".join([str(item["line"]), *extra])
    structured = item.get("structured")
    if raw or not isinstance(structured, dict) or not isinstance(structured.get("message"), str):
        return str(item["line"])
    return f"{(item.get('level') or '-').upper()} {structured['message']}"


def format_line(item: dict[str, Any], *, raw: bool = False) -> str:
    """``<time> <deployment> <out|err|req> <text>`` (the text: see :func:`shown_text`); in
    swarm mode the deployment is followed by the host that ran it: ``<deployment>@<host>``."""
    deployment = (item.get("deployment_id") or "-")[:8]
    if item.get("host"):
        deployment = f"{deployment}@{item['host']}"
    return f"{item['time']} {deployment} {_tag(item)} {shown_text(item, raw=raw)}"


def _style(item: dict[str, Any]) -> str:
    """A request by its status (5xx red, 4xx yellow), a runner's stderr red, else dim."""
    request = item.get("request")
    status = request.get("status") if isinstance(request, dict) else None
    if (isinstance(status, int) and status >= 500) or item.get("stream") == "stderr":
        return "red"
    return "yellow" if isinstance(status, int) and status >= 400 else "dim"


def _print(item: dict[str, Any], *, as_json: bool, raw: bool = False) -> None:
    if as_json:
        sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
    elif console.is_terminal:
        prefix, line = format_line(item).split(" ", 3)[:3], shown_text(item, raw=raw)
        text = safe(" ".join(prefix) + " ", style=_style(item))
        # A request's line is the proxy's own (no ANSI of the app's): shown as plain text.
        text.append_text(safe(line) if item.get("source") == "request" else coloured(line))
        console.print(text)
    else:
        sys.stdout.write(format_line(item, raw=raw) + "\n")
    sys.stdout.flush()


def _warn(page: dict[str, Any]) -> None:
    """What the server's page says may be missing: a partial answer, a full collector."""
    err = Console(stderr=True)
    for notice in (PARTIAL_NOTICE if page.get("partial") else None, page.get("collector_warning")):
        if notice:
            err.print(safe("warning:", "yellow") + safe(" " + str(notice)))


def _environment_id(client: ApiClient, project: str, env: str) -> str:
    detail = client.get(f"/projects/{project}")
    for environment in detail["environments"]:
        if env in (environment["id"], environment["name"]):
            return str(environment["id"])
    names = ", ".join(e["name"] for e in detail["environments"]) or "none"
    raise ApiError(f"no environment {env!r} in {project} (environments: {names})")


def _history(
    client: ApiClient, path: str, params: dict[str, Any], *, lines: int | None
) -> Iterator[dict[str, Any]]:
    """The range oldest first, a page at a time; with ``lines``, only the newest ones."""
    if lines is not None:
        page = client.get(path, params={**params, "limit": lines, "direction": "backward"})
        _warn(page)
        items = page["items"]
        yield from reversed(items)
        # Newest first: the last item at the newest timestamp has seen every key there.
        newest = [item for item in items if item["ts"] == items[0]["ts"]] if items else []
        yield {"end": page["end"], "resume": newest[-1]["cursor"] if newest else None}
        return
    page = client.get(path, params={**params, "limit": PAGE_SIZE, "direction": "forward"})
    while True:
        _warn(page)
        yield from page["items"]
        if not page["next"]:
            yield {"end": page["end"]}
            return
        page = client.get(page["next"].removeprefix("/api/v1"))


class _Cut(Exception):
    """The tail stopped (the log store failed, or the connection dropped): reconnect."""


def _tail(
    url: str,
    token: str,
    path: str,
    params: dict[str, Any],
    cursor: str,
    *,
    as_json: bool,
    raw: bool = False,
) -> None:
    """Print new lines until interrupted; reconnect from the last cursor when cut off.

    A resumed tail may deliver again lines that had come ahead of its cursor: those are
    dropped by id. Ids older than the cursor can't come again, so the set stays small.
    """
    shown: dict[str, int] = {}  # id -> ts of the lines printed at or after the cursor
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/x-ndjson"}
    timeout = httpx.Timeout(30.0, read=None)  # the server pings; lines may be far apart
    with httpx.Client(base_url=url.rstrip("/") + "/api/v1", headers=headers, timeout=timeout) as h:
        while True:
            try:
                with h.stream("GET", path, params={**params, "cursor": cursor}) as response:
                    if response.status_code != 200:
                        response.read()
                        raise ApiError(f"{response.status_code}: {_detail(response)}")
                    for text in response.iter_lines():
                        if not text.strip():
                            continue
                        item = json.loads(text)
                        if "error" in item:
                            raise _Cut(item["error"])
                        cursor = item["cursor"]
                        if item["id"] in shown:
                            continue
                        _print(item, as_json=as_json, raw=raw)
                        shown[item["id"]] = int(item["ts"])
                        _forget_before(shown, int(cursor.partition(":")[0]))
            except (httpx.HTTPError, _Cut) as exc:
                err = Console(stderr=True)
                err.print(safe("tail interrupted:", "yellow") + safe(f" {exc}; retrying…"))
                time.sleep(RECONNECT_SECONDS)


def _download(url: str, token: str, path: str, params: dict[str, Any], file: Path, fmt: str) -> int:
    """Save the range to ``file`` as it streams; the number of lines. A store that failed
    midway leaves its message as the file's last line: that is an error here too."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx.Timeout(30.0, read=300.0)
    count, last = 0, b""
    with (
        httpx.Client(base_url=url.rstrip("/") + "/api/v1", headers=headers, timeout=timeout) as h,
        h.stream("GET", path, params={**params, "format": fmt}) as response,
    ):
        if response.status_code != 200:
            response.read()
            raise ApiError(f"{response.status_code}: {_detail(response)}")
        with file.open("wb") as out:
            for data in response.iter_bytes():
                out.write(data)
                count += data.count(b"\n")
                last = (last + data)[-4096:]
    final = last.rstrip(b"\n").rpartition(b"\n")[2]
    if final.startswith((b"# download incomplete", b'{"error"')):
        raise ApiError(f"{file}: {final.decode(errors='replace')}")
    return count


def _forget_before(shown: dict[str, int], ts: int, *, keep: int = 10_000) -> None:
    """Drop the ids older than the cursor's ``ts`` once there are more than ``keep``."""
    if len(shown) > keep:
        for line_id in [line_id for line_id, at in shown.items() if at < ts]:
            del shown[line_id]


def _substring_regex(text: str) -> str:
    """Any-case ``text`` as an RE2 pattern: Go's ``regexp.QuoteMeta`` behind ``(?i)``."""
    return "(?i)" + "".join(f"\\{c}" if c in "\\.+*?()|[]{}^$" else c for c in text)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail") or response.reason_phrase)
    except ValueError:
        return response.reason_phrase


def logs(
    project: ProjectArg,
    env: Annotated[str | None, typer.Option("--env", help="Environment name or id")] = None,
    branch: Annotated[str | None, typer.Option(help="Only this branch")] = None,
    deployment: Annotated[str | None, typer.Option(help="Only this deployment (id)")] = None,
    since: Annotated[
        str | None, typer.Option(help="15m, 2h, 7d, an ISO 8601 time (UTC) or Unix ns")
    ] = None,
    until: Annotated[str | None, typer.Option(help="End of the range (default: now)")] = None,
    query: Annotated[
        str | None,
        typer.Option(
            "--query", "-q", help="A query, e.g. 'status:>=500 -path:/health*' (docs/logging.md)"
        ),
    ] = None,
    grep: Annotated[str | None, typer.Option(help="Lines containing this text (any case)")] = None,
    regex: Annotated[str | None, typer.Option(help="Lines matching this RE2 expression")] = None,
    stream: Annotated[
        str | None, typer.Option(help="stdout, stderr or request (the proxy's requests)")
    ] = None,
    level: Annotated[str | None, typer.Option(help="error, warning, info or debug")] = None,
    lines: Annotated[
        int | None, typer.Option("--lines", "-n", min=1, max=5000, help="Only the newest N lines")
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Then print new lines")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
    raw: Annotated[
        bool, typer.Option("--raw", help="JSON lines as stored (not their level and message)")
    ] = False,
    download: Annotated[
        Path | None,
        typer.Option("--download", help="Save the whole range to this file (txt; --json: NDJSON)"),
    ] = None,
) -> None:
    """Print a project's logs (default: the last hour, or the deployment's); -f follows."""
    if sum(option is not None for option in (query, grep, regex)) > 1:
        raise fail("--query, --grep and --regex can't be combined")
    params: dict[str, Any] = {
        "branch": branch,
        "deployment": deployment,
        "stream": stream,
        "level": level,
        "since": since,
        "until": until,
        # The server reads q as the query language; --grep stays a plain substring search.
        "q": query or (_substring_regex(grep) if grep is not None else regex),
        "regex": "true" if regex is not None or grep is not None else None,
    }
    if download is not None and (follow or lines is not None):
        raise fail("--download saves a range: it can't be combined with --follow or --lines")
    if follow and since is None and lines is None:
        lines = 100  # like `heroku logs --tail`: some context, then the tail
    path = f"/projects/{project}/logs"
    try:
        with logged_in_client() as client:
            if env:
                params["environment"] = _environment_id(client, project, env)
            params = {k: v for k, v in params.items() if v is not None}
            if download is not None:
                fmt = "ndjson" if as_json else "txt"
                config = load_config()
                where = f"{path}/download"
                saved = _download(config.url, config.token, where, params, download, fmt)
                Console(stderr=True).print(safe(f"{saved} lines saved to {download}"))
                return
            cursor = None
            for item in _history(client, path, params, lines=lines):
                if "end" in item:
                    cursor = item.get("resume") or cursor or f"{item['end']}:"
                    break
                _print(item, as_json=as_json, raw=raw)
                cursor = item["cursor"]
    except ApiError as exc:
        raise fail(str(exc)) from exc
    if not follow:
        return
    try:
        config = load_config()
    except NotLoggedInError as exc:
        raise fail(str(exc)) from exc
    tail_params = {k: v for k, v in params.items() if k not in ("since", "until")}
    try:
        _tail(
            config.url,
            config.token,
            f"{path}/tail",
            tail_params,
            cursor or "",
            as_json=as_json,
            raw=raw,
        )
    except ApiError as exc:
        raise fail(str(exc)) from exc
    except KeyboardInterrupt:
        return


def register(app: typer.Typer) -> None:
    app.command()(logs)
