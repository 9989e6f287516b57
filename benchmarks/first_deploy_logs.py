"""A newcomer's first deploy, timed: when does each printed line show on each surface?

Against a running ``sudo scripts/dev/local.sh`` (its URL, its admin password file), this
creates the sample project (examples/hello-python from the checkout), deploys it through
the API, opens the deployment page and the Logs page (live) in Chromium, follows
``devpush logs --follow --json`` and polls the logs API, then sends requests to the app
through the proxy. For every line it prints when it was printed (Docker's time) and when
each surface first showed it, and takes a screenshot of the deployment page.

    uv run python -m benchmarks.first_deploy_logs --password-file data/admin-password

Figures: one table row per line; "lag" is shown-at minus printed-at, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
#: Records when each log row first appears in a page: row id → Date.now() in ms.
OBSERVER = """
window.__seen = {};
const mark = () => document.querySelectorAll('li.log-line').forEach(li => {
  if (!(li.id in window.__seen)) window.__seen[li.id] = [Date.now(), li.dataset.ts,
    li.querySelector('.log-text')?.textContent ?? ''];
});
// Init scripts run before the document has a body: start once it is parsed.
document.addEventListener('DOMContentLoaded', () => {
  mark();
  new MutationObserver(mark).observe(document.body, {childList: true, subtree: true});
});
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--email", default="admin@localhost")
    parser.add_argument("--password-file", type=Path, default=REPO / "data" / "admin-password")
    parser.add_argument("--proxy-port", type=int, default=8080)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--screenshot", type=Path, default=Path("first-deploy.png"))
    return parser.parse_args()


def api(url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def wait_running(client: httpx.Client, slug: str, deployment_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for item in client.get(f"/projects/{slug}/deployments").json():
            if item["id"] == deployment_id and item["status"] in ("running", "failed"):
                return dict(item)
        time.sleep(0.2)
    sys.exit("the deployment did not get to running within 180 s")


def follow_api(
    client: httpx.Client,
    slug: str,
    since: int,
    seen: dict[str, tuple[float, int, str]],
    stop: threading.Event,
) -> None:
    while not stop.is_set():
        page = client.get(
            f"/projects/{slug}/logs",
            params={"since": str(since), "direction": "forward", "limit": 1000},
        ).json()
        now = time.time()
        for line in page.get("items", []):
            seen.setdefault(line["id"], (now, int(line["ts"]), line["line"]))
        time.sleep(0.1)


def follow_cli(
    url: str, token: str, slug: str, seen: dict[str, tuple[float, int, str]], stop: threading.Event
) -> None:
    home = tempfile.mkdtemp()
    env = {
        **os.environ,
        "HOME": home,
        "XDG_CONFIG_HOME": home,
        "DEVPUSH_URL": url,
        "DEVPUSH_TOKEN": token,
    }
    cli = [
        str(REPO / ".venv" / "bin" / "devpush"),
        "logs",
        slug,
        "--follow",
        "--json",
        "--since",
        "10m",
    ]
    process = subprocess.Popen(cli, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    # Not a daemon: the interpreter waits for it, so the CLI never outlives the run.
    threading.Thread(target=lambda: (stop.wait(), process.terminate()), daemon=False).start()
    for raw in process.stdout:
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        seen.setdefault(line["id"], (time.time(), int(line["ts"]), line["line"]))


def main() -> int:
    args = parse_args()
    password = args.password_file.read_text().strip()
    token = (
        httpx.post(
            f"{args.url}/api/v1/tokens",
            json={
                "email": args.email,
                "password": password,
                "name": f"first-deploy {time.time_ns()}",
            },
            timeout=30,
        )
        .raise_for_status()
        .json()["token"]
    )
    client = api(args.url, token)
    slug = f"hello-{int(time.time())}"
    client.post(
        "/projects",
        json={
            "name": slug,
            "repo_url": str(REPO),
            "root_directory": "examples/hello-python",
            "runner_image": "devpush/runner-python:local",
            "build_command": "python3 build.py",
            "start_command": "python3 app.py",
        },
    ).raise_for_status()
    since = time.time_ns()
    surfaces: dict[str, dict[str, tuple[float, int, str]]] = {"api": {}, "cli": {}}
    stop = threading.Event()
    threading.Thread(
        target=follow_api, args=(client, slug, since, surfaces["api"], stop), daemon=True
    ).start()
    threading.Thread(
        target=follow_cli, args=(args.url, token, slug, surfaces["cli"], stop), daemon=True
    ).start()
    deployment = client.post(f"/projects/{slug}/deployments", json={}).raise_for_status().json()
    final = wait_running(client, slug, deployment["id"])
    print(f"deployment {deployment['id'][:8]}: {final['status']}")

    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{args.url}/login")
        page.fill("#email", args.email)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        logs_page = context.new_page()
        page.add_init_script(OBSERVER)
        logs_page.add_init_script(OBSERVER)
        page.goto(f"{args.url}/projects/{slug}/deployments/{deployment['id']}")
        logs_page.goto(f"{args.url}/projects/{slug}/logs?live=1&range=15m")
        page.wait_for_selector("li.log-line", timeout=30_000)
        for _ in range(args.requests):
            httpx.get(
                f"http://127.0.0.1:{args.proxy_port}/",
                headers={"Host": f"{slug}.localhost"},
                timeout=10,
            )
            time.sleep(0.5)
        time.sleep(6)
        for name, tab in (("deployment page", page), ("logs page", logs_page)):
            marks = tab.evaluate("window.__seen")
            surfaces[name] = {
                key.removeprefix("L"): (ms / 1000, int(ts), text)
                for key, (ms, ts, text) in marks.items()
            }
        page.screenshot(path=str(args.screenshot), full_page=True)
        browser.close()
    stop.set()

    print(f"screenshot: {args.screenshot}")
    report(surfaces, since_ns=since)
    return 0


def report(surfaces: dict[str, dict[str, tuple[float, int, str]]], *, since_ns: int) -> None:
    api_lines = surfaces["api"]
    print(f"{'printed (UTC)':<15} {'line':<48}" + "".join(f"{name:>17}" for name in surfaces))
    lags: dict[str, list[float]] = {name: [] for name in surfaces}
    for line_id, (_seen, ts, text) in sorted(api_lines.items(), key=lambda kv: kv[1][1]):
        if ts < since_ns:
            continue
        cells = []
        for name, seen in surfaces.items():
            shown = seen.get(line_id)
            if shown is None:
                cells.append(f"{'-':>17}")
                continue
            lag = shown[0] - ts / 1e9
            lags[name].append(lag)
            cells.append(f"{lag:>16.2f}s")
        stamp = time.strftime("%H:%M:%S", time.gmtime(ts / 1e9))
        print(f"{stamp:<15} {text[:47]:<48}" + "".join(cells))
    print()
    for name, values in lags.items():
        # Lines already printed when a page opened show at load: their lag is how long
        # the deploy took, not the log path's, so only the live part is summarised.
        live = [v for v in values if v < 30]
        if live:
            print(
                f"{name:<16} lines {len(values):>3}  median {statistics.median(live):.2f}s"
                f"  max {max(live):.2f}s"
            )


if __name__ == "__main__":
    raise SystemExit(main())
