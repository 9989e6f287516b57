"""Deploy keys, host keys, the askpass script and the ssh command, with the real tools."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from devpush.services.git_access import (
    GitCredentials,
    HostKeyError,
    credentials_env,
    explain,
    generate_deploy_key,
    known_hosts_name,
    parse_known_hosts,
    scrub,
    ssh_command,
)


def test_a_deploy_key_is_an_openssh_ed25519_pair(tmp_path: Path) -> None:
    public, private = generate_deploy_key("devpush-shop")
    assert public.startswith("ssh-ed25519 ") and public.endswith(" devpush-shop")
    assert private.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    key = tmp_path / "key"
    key.write_text(private)
    key.chmod(0o600)
    derived = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True, check=True
    ).stdout
    assert derived.split()[:2] == public.split()[:2]


def test_fingerprints_match_ssh_keygen(tmp_path: Path) -> None:
    public, _ = generate_deploy_key("x")
    line = f"[127.0.0.1]:2222 {public.rsplit(' ', 1)[0]}\n"
    (tmp_path / "kh").write_text(line)
    shown = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(tmp_path / "kh")], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    [key] = parse_known_hosts("# comment\n\n" + line)
    assert (key.host, key.key_type, key.fingerprint) == ("[127.0.0.1]:2222", "ssh-ed25519", shown)


@pytest.mark.parametrize(
    "text", ["github.com", "github.com ssh-ed25519", "h ssh-foo AAAA", "h ssh-ed25519 !!"]
)
def test_malformed_known_hosts_lines(text: str) -> None:
    with pytest.raises(HostKeyError, match="line 1"):
        parse_known_hosts(text)


def test_known_hosts_names() -> None:
    assert known_hosts_name("github.com", None) == "github.com"
    assert known_hosts_name("github.com", 22) == "github.com"
    assert known_hosts_name("127.0.0.1", 2222) == "[127.0.0.1]:2222"


def test_the_ssh_command_pins_and_never_asks() -> None:
    args = shlex.split(ssh_command(key_file=Path("/t/k ey"), known_hosts_file=Path("/t/kh")))
    assert args[0] == "ssh" and args[-2:] == ["-i", "/t/k ey"]
    for option in (
        "IdentitiesOnly=yes",
        "StrictHostKeyChecking=yes",
        "BatchMode=yes",
        "UserKnownHostsFile=/t/kh",
    ):
        assert option in args


def test_credentials_live_in_private_files_and_go_after() -> None:
    secret = "tok-" + "s3cr3t" * 4
    credentials = GitCredentials(
        private_key=generate_deploy_key("x")[1], token=secret, token_username="oauth2"
    )
    with credentials_env(credentials) as env:
        assert secret not in " ".join(env.values())
        askpass = Path(env["GIT_ASKPASS"])
        folder = askpass.parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in ("deploy_key", "token", "known_hosts"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
        run_env = {**os.environ, **env}

        def ask(prompt: str) -> str:
            return subprocess.run(
                [str(askpass), prompt], env=run_env, capture_output=True, text=True, check=True
            ).stdout

        assert ask("Username for 'https://h': ") == "oauth2\n"
        assert ask("Password for 'https://oauth2@h': ") == secret + "\n"
    assert not folder.exists()


def test_scrub_and_explain() -> None:
    assert scrub("fatal: bad tok-abc123 here", ["tok-abc123"]) == "fatal: bad [secret] here"
    assert "changed" in (
        explain("WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!", host="h") or ""
    )
    assert "deploy key" in (explain("git@h: Permission denied (publickey).", host="h") or "")
    assert "credentials" in (explain("The requested URL returned error: 403", host="h") or "")
    assert explain("something else", host="h") is None
