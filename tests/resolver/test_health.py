"""The resolver's health check as Compose runs it: ``python -m devpush.resolver.health``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dnslib import QTYPE, DNSRecord
from sqlalchemy import Engine

from devpush.resolver.health import HEALTH_CHECK_NAME, question
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import start_resolver

ROOT = Path(__file__).resolve().parents[2]


def health(address: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devpush.resolver.health", address],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )


def test_the_check_passes_while_the_resolver_answers_and_fails_once_it_stopped(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    port = free_port()
    resolver = start_resolver(
        database_url=db_url, address=f"127.0.0.1:{port}", not_found_port=8404, state_dir=tmp_path
    )
    try:
        answered = health(f"0.0.0.0:{port}")  # Compose's form: bound to all, asked on loopback
        assert answered.returncode == 0, answered.stderr
    finally:
        resolver.stop()
    stopped = health(f"127.0.0.1:{port}")
    assert stopped.returncode == 1
    assert f"no answer from 127.0.0.1:{port} (udp)" in stopped.stderr


def test_a_bad_address_is_a_usage_error() -> None:
    for bad in ("5353", "host:", "host:99999"):
        refused = health(bad)
        assert refused.returncode == 2
        assert "usage: python -m devpush.resolver.health" in refused.stderr


def test_the_check_imports_nothing_but_the_standard_library() -> None:
    # Compose runs it every 10 s in each resolver: importing devpush's settings, SQLAlchemy
    # and dnslib cost each check ~1.5 s of CPU.
    code = "import json, sys, devpush.resolver.health; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = set(json.loads(out.stdout))
    assert {name for name in loaded if name.startswith("devpush")} == {
        "devpush",
        "devpush.resolver",
        "devpush.resolver.health",
    }
    third_party = {name.partition(".")[0] for name in loaded} - set(sys.stdlib_module_names)
    assert third_party <= {"__main__", "devpush"}, sorted(third_party)


def test_the_question_is_the_srv_question_dnslib_reads() -> None:
    parsed = DNSRecord.parse(question(4242, HEALTH_CHECK_NAME))
    assert parsed.header.id == 4242
    (asked,) = parsed.questions
    assert (str(asked.qname), QTYPE[asked.qtype]) == (HEALTH_CHECK_NAME, "SRV")
