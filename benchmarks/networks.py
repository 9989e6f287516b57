"""Project networks: what 500 of them cost Docker and the host, with the proxy on each.

devpush gives each project its own bridge (devpush/services/networks.py), on a subnet it
hands out from a pool, and connects the proxy's container (in Compose) to every one. This
creates ``--count`` project networks through ``ensure_project_network`` (the worker's own
code, so the subnet allocation is in the figures), connecting a stand-in proxy container
(busybox) to each as the worker does, and every ``--step`` networks records:

- the time to create one network and to connect the proxy to it (mean over the step),
  and one ``ensure_project_network`` of an existing network (what every deploy pays);
- dockerd's resident memory and the host's available memory;
- the host's iptables rules (``iptables-save``: filter and nat, every chain) and links.

Then everything is removed, timed. Run as root (iptables-save), on a Docker host without
other devpush installs using ``--pool``:

    uv run python -m benchmarks.networks                  # 500 networks, a row each 100
    uv run python -m benchmarks.networks --count 100 --step 25

Results: ``benchmarks/results/networks-bridge.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
import uuid
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import docker

from benchmarks._harness import RESULTS, chart, rss_mib, save, table
from devpush.core.config import Settings
from devpush.services import networks

PROXY_IMAGE = "devpush/busybox:local"


def dockerd_pid() -> int:
    done = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0])


def iptables_rules() -> int:
    """Rules (``-A`` lines) in every table iptables-save prints."""
    done = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True)
    return sum(line.startswith("-A ") for line in done.stdout.splitlines())


def links() -> int:
    return len(list(Path("/sys/class/net").iterdir()))


def available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sample(
    count: int, create_ms: list[float], connect_ms: list[float], ensure_ms: float
) -> dict[str, Any]:
    return {
        "networks": count,
        "create_ms": statistics.mean(create_ms) if create_ms else float("nan"),
        "connect_ms": statistics.mean(connect_ms) if connect_ms else float("nan"),
        "ensure_existing_ms": ensure_ms,
        "dockerd_rss_mib": rss_mib(dockerd_pid()),
        "host_available_mib": available_mib(),
        "iptables_rules": iptables_rules(),
        "links": links(),
    }


def main() -> None:
    doc = __doc__ or ""
    p = argparse.ArgumentParser(
        description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--step", type=int, default=100)
    p.add_argument("--pool", type=IPv4Network, default=IPv4Network("10.202.0.0/16"))
    p.add_argument("--prefix", type=int, default=26)
    args = p.parse_args()
    client = docker.from_env(timeout=300)
    run_id = uuid.uuid4().hex[:8]
    proxy = client.containers.run(
        PROXY_IMAGE, ["sleep", "3600"], name=f"bench-proxy-{run_id}", detach=True
    )
    settings = Settings(
        runner_network=f"bench-{run_id}",
        runner_subnet_pool=args.pool,
        runner_subnet_prefix=args.prefix,
        proxy_container=proxy.name,
    )
    rows: list[dict[str, Any]] = []
    made: list[str] = []
    removal: dict[str, float] = {}
    try:
        rows.append(sample(0, [], [], float("nan")))
        print(table(rows, list(rows[0])), flush=True)
        create_ms: list[float] = []
        connect_ms: list[float] = []
        for n in range(1, args.count + 1):
            started = time.perf_counter()
            name = networks.ensure_project_network(client, settings, f"p{n:04d}")
            created = time.perf_counter()
            networks.attach_proxy(client, settings, [name])
            connected = time.perf_counter()
            made.append(name)
            create_ms.append((created - started) * 1000)
            connect_ms.append((connected - created) * 1000)
            if n % args.step == 0:
                started = time.perf_counter()
                networks.ensure_project_network(client, settings, "p0001")
                ensure_ms = (time.perf_counter() - started) * 1000
                rows.append(sample(n, create_ms, connect_ms, ensure_ms))
                create_ms, connect_ms = [], []
                print(table(rows[-1:], list(rows[0])).splitlines()[1], flush=True)
                # Saved at each step: a long run cut short keeps what it measured.
                save("networks", "bridge", rows, pool=str(args.pool), prefix=args.prefix)
    finally:
        started = time.perf_counter()
        proxy.remove(force=True)
        removal["proxy_removed_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for network in client.networks.list(names=[settings.runner_network]):
            if network.name.startswith(settings.runner_network):
                network.remove()
        removal["networks_removed_s"] = time.perf_counter() - started
        removal["iptables_rules_after"] = iptables_rules()
    print(table(rows, list(rows[0])))
    print(removal)
    path = save("networks", "bridge", rows, pool=str(args.pool), prefix=args.prefix, **removal)
    plot(rows, RESULTS / "networks-bridge.png")
    print(f"wrote {path}")


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    with chart(path, 1, 2, figsize=(11, 4), dpi=100) as (left, right):
        counts = [r["networks"] for r in rows[1:]]
        left.plot(counts, [r["create_ms"] for r in rows[1:]], marker="o", label="create (mean)")
        left.plot(
            counts, [r["connect_ms"] for r in rows[1:]], marker="o", label="connect proxy (mean)"
        )
        left.plot(counts, [r["ensure_existing_ms"] for r in rows[1:]], marker="o", label="existing")
        left.set_xlabel("project networks")
        left.set_ylabel("ms per network")
        left.legend()
        counts = [r["networks"] for r in rows]
        right.plot(counts, [r["iptables_rules"] for r in rows], marker="o", label="iptables rules")
        right.plot(
            counts, [r["dockerd_rss_mib"] for r in rows], marker="o", label="dockerd RSS MiB"
        )
        right.set_xlabel("project networks")
        right.legend()


if __name__ == "__main__":
    main()
