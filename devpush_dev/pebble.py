"""Run Pebble, Let's Encrypt's test ACME server, as a child process on loopback (tests).

Built with its test certificates by ``scripts/dev/pebble-pinned.sh`` (which
``scripts/dev/test-deps.sh`` runs). Caddy's ACME issuer is pointed at
:attr:`Pebble.directory_url` and trusts :attr:`Pebble.listener_root` for it; the
certificates Pebble issues chain to a root it makes at each start
(:meth:`Pebble.issuing_root`). Given a DNS server, Pebble validates the challenges for
real: it looks the name up there and connects to ``http_port`` (HTTP-01) or
``tls_port`` (TLS-ALPN-01), Caddy's; without one it validates none
(``PEBBLE_VA_ALWAYS_VALID``).
"""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Final

import httpx

from devpush_dev import binaries, processes
from devpush_dev.ports import free_port

BUILD_HINT: Final = "scripts/dev/pebble-pinned.sh"


def pebble_binary() -> tuple[Path, Path]:
    """The cached Pebble binary and the directory of its test certificates."""
    version = binaries.read_versions()["PEBBLE_VERSION"]
    binary = binaries.cache_dir() / "bin" / f"pebble-{version}"
    certs = binaries.cache_dir() / f"pebble-{version}"
    if not binary.is_file() or not (certs / "pebble.minica.pem").is_file():
        raise binaries.BinaryNotFoundError(
            f"pebble {version} or its certificates not found at {binary} and {certs}."
            f" Build them with {BUILD_HINT}."
        )
    return binary, certs


@dataclass
class Pebble(processes.LoopbackServer):
    scheme: ClassVar[str] = "https"

    management_port: int
    #: The root the HTTPS listener's certificate chains to (Caddy's ``trusted_roots``).
    listener_root: Path

    @property
    def directory_url(self) -> str:
        return f"{self.url}/dir"

    def issuing_root(self) -> str:
        """The PEM root of the certificates Pebble issues (new at each start)."""
        context = ssl.create_default_context(cafile=str(self.listener_root))
        response = httpx.get(
            f"https://127.0.0.1:{self.management_port}/roots/0", verify=context, timeout=10
        )
        response.raise_for_status()
        return response.text


def start_pebble(
    *,
    state_dir: Path,
    dns_server: str | None = None,
    http_port: int | None = None,
    tls_port: int | None = None,
    timeout: float = 30.0,
) -> Pebble:
    """Pebble on free loopback ports, ready when its directory answers.

    ``dns_server`` (``host:port``): where it looks challenged names up, and where it
    connects for them, ``http_port`` and ``tls_port``; None: challenges always pass."""
    binary, certs = pebble_binary()
    port, management = free_port(), free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(certs / "cert.pem"),
            "privateKey": str(certs / "key.pem"),
            "httpPort": http_port or free_port(),
            "tlsPort": tls_port or free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    config_path = state_dir / "pebble.json"
    config_path.write_text(json.dumps(config, indent=2))
    argv = [str(binary), "-config", str(config_path)]
    # Every nonce accepted (no badNonce retry to wait for), no pause before a validation.
    env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
    if dns_server is None:
        env["PEBBLE_VA_ALWAYS_VALID"] = "1"
    else:
        argv += ["-dnsserver", dns_server]
    child = processes.start("pebble", argv, log_path=state_dir / "pebble.log", env=env)
    pebble = Pebble(child, port, management, certs / "pebble.minica.pem")
    context = ssl.create_default_context(cafile=str(pebble.listener_root))
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if not child.running():
            raise processes.ProcessError(f"pebble exited:\n{child.log_tail()}")
        try:
            if httpx.get(pebble.directory_url, verify=context, timeout=2).status_code == 200:
                return pebble
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    child.stop()
    raise processes.ProcessError(
        f"pebble not ready within {timeout:.0f}s ({last}):\n{child.log_tail()}"
    )
