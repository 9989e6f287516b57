"""Credentials for private repositories: SSH deploy keys, pinned host keys, HTTPS tokens.

A secret reaches git only through files in a private temp dir (0700, files 0600) that
``credentials_env`` removes afterwards: the deploy key through ``GIT_SSH_COMMAND``'s
``-i``, the token through a ``GIT_ASKPASS`` script that reads it from a file. Never in
argv, a URL, or git's config.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devpush.core.errors import InvalidInput

#: How long ``ssh-keyscan`` may take to read a host's keys.
KEYSCAN_TIMEOUT_SECONDS = 10
#: What git answers a forge asking for a user name with a token, per forge host.
DEFAULT_TOKEN_USERNAMES = {"github.com": "x-access-token", "gitlab.com": "oauth2"}
FALLBACK_TOKEN_USERNAME = "x-access-token"  # noqa: S105 (a user name, not a secret)
_KEY_TYPES = re.compile(r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+)$")


class HostKeyError(InvalidInput, ValueError):
    """Host keys could not be read or parsed; ``str()`` is fit to show a user."""


@dataclass(frozen=True, slots=True)
class GitCredentials:
    """What one git command may use; all None/empty: a public repository."""

    private_key: str | None = None  # OpenSSH PEM
    known_hosts: str = ""
    token: str | None = None
    token_username: str = ""

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.token, self.private_key) if s]


@dataclass(frozen=True, slots=True)
class HostKey:
    host: str
    key_type: str
    fingerprint: str  # "SHA256:…", as ssh-keygen -l prints it


def generate_deploy_key(comment: str) -> tuple[str, str]:
    """A new ed25519 pair: (public key line in OpenSSH format, private key OpenSSH PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{public.decode()} {comment}", private


def fingerprint(key_base64: str) -> str:
    """The SHA256 fingerprint of a public key blob, as OpenSSH shows it."""
    digest = hashlib.sha256(base64.b64decode(key_base64, validate=True)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def parse_known_hosts(text: str) -> list[HostKey]:
    """The keys of known_hosts lines (comments and blanks skipped); HostKeyError if malformed."""
    keys = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if fields[0].startswith("@"):  # @cert-authority / @revoked markers
            fields = fields[1:]
        if len(fields) < 3 or not _KEY_TYPES.match(fields[1]):
            raise HostKeyError(f"line {number} is not a known_hosts line (host, key type, key)")
        try:
            keys.append(
                HostKey(host=fields[0], key_type=fields[1], fingerprint=fingerprint(fields[2]))
            )
        except ValueError as exc:
            raise HostKeyError(f"line {number}: the key is not valid base64") from exc
    return keys


def known_hosts_name(host: str, port: int | None) -> str:
    """How known_hosts names a host: ``host``, or ``[host]:port`` off port 22."""
    return host if port in (None, 22) else f"[{host}]:{port}"


def scan_host_keys(host: str, port: int | None) -> str:
    """The host's keys as known_hosts lines (``ssh-keyscan``); HostKeyError if none answer."""
    args = ["ssh-keyscan", "-T", str(KEYSCAN_TIMEOUT_SECONDS)]
    if port not in (None, 22):
        args += ["-p", str(port)]
    try:
        done = subprocess.run(
            [*args, "--", host],
            capture_output=True,
            text=True,
            timeout=KEYSCAN_TIMEOUT_SECONDS + 5,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise HostKeyError(f"{host} did not answer ssh within {KEYSCAN_TIMEOUT_SECONDS} s") from exc
    lines = [line for line in done.stdout.splitlines() if line and not line.startswith("#")]
    if not lines:
        raise HostKeyError(f"could not read the ssh host key of {known_hosts_name(host, port)}")
    text = "\n".join(sorted(lines)) + "\n"
    parse_known_hosts(text)
    return text


def default_token_username(host: str) -> str:
    return DEFAULT_TOKEN_USERNAMES.get(host.lower(), FALLBACK_TOKEN_USERNAME)


def ssh_command(*, key_file: Path | None, known_hosts_file: Path) -> str:
    """``GIT_SSH_COMMAND``: only the deploy key, only the pinned host keys, never a prompt."""
    args = [
        "ssh",
        "-F",
        "/dev/null",  # no user or system ssh config changes what is checked
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        f"UserKnownHostsFile={known_hosts_file}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=15",
    ]
    if key_file is not None:
        args += ["-i", str(key_file)]
    else:
        args += ["-o", "PubkeyAuthentication=no"]
    return shlex.join(args)


ASKPASS_SCRIPT = """#!/bin/sh
# devpush: answers git's prompts with the project's token user and token (from a file).
case "$1" in
  Username*) printf '%s\\n' "$DEVPUSH_GIT_USERNAME" ;;
  *) cat "$DEVPUSH_GIT_TOKEN_FILE" ;;
esac
"""


def _private_file(path: Path, text: str, mode: int = 0o600) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


@contextmanager
def credentials_env(credentials: GitCredentials) -> Iterator[dict[str, str]]:
    """Environment variables that hand git the credentials; their files go on exit."""
    with tempfile.TemporaryDirectory(prefix="devpush-git-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o700)
        known_hosts = _private_file(folder / "known_hosts", credentials.known_hosts)
        key_file = None
        if credentials.private_key:
            key = credentials.private_key
            key_file = _private_file(
                folder / "deploy_key", key if key.endswith("\n") else key + "\n"
            )
        env = {"GIT_SSH_COMMAND": ssh_command(key_file=key_file, known_hosts_file=known_hosts)}
        if credentials.token:
            token_file = _private_file(folder / "token", credentials.token + "\n")
            askpass = _private_file(folder / "askpass", ASKPASS_SCRIPT, mode=0o700)
            env |= {
                "GIT_ASKPASS": str(askpass),
                "DEVPUSH_GIT_USERNAME": credentials.token_username or FALLBACK_TOKEN_USERNAME,
                "DEVPUSH_GIT_TOKEN_FILE": str(token_file),
            }
        yield env


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret (and its base64/URL-ish forms' plain text) replaced."""
    for secret in secrets:
        for line in secret.strip().splitlines() or [secret]:
            if len(line.strip()) >= 4:
                text = text.replace(line.strip(), "[secret]")
    return text


def explain(stderr: str, *, host: str | None) -> str | None:
    """A sentence for a user from git's/ssh's error text, when it says something known."""
    where = host or "the forge"
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
        return (
            f"the host key of {where} changed: the server may have been replaced or someone may "
            "be intercepting the connection; if you expected this, re-pin it in Settings → Git"
        )
    if "Host key verification failed" in stderr:
        return (
            f"the host key of {where} is not pinned (or not among the pinned ones): "
            "pin it in Settings → Git"
        )
    if "Permission denied (publickey" in stderr:
        return (
            "the forge refused the deploy key: add the public key from Settings → Git to the "
            "repository's deploy keys"
        )
    if re.search(r"Could not resolve (host|hostname)|Name or service not known", stderr):
        return f"unknown host: {where} does not resolve"
    if re.search(r"Connection refused|Failed to connect|Connection timed out|timed out", stderr):
        return f"could not connect to {where}"
    if re.search(r"\b(401|403)\b|Authentication failed|could not read (Username|Password)", stderr):
        return "the forge refused the credentials: check the access token and its user name"
    if re.search(
        r"repository '[^']*' not found|Repository not found|does not appear to be a git repo",
        stderr,
    ):
        return "repository not found (or the credentials may not read it)"
    return None
