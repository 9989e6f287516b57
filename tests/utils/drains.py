"""Real receivers of log drains on loopback, and a VictoriaLogs store to drain from.

- :class:`Rsyslog`: Debian's ``rsyslogd`` with its own config (``-n -f conf -i pidfile``),
  an ``imtcp`` input on a free port, each message written as one tab-separated line.
- :class:`OtlpReceiver`: our OpenTelemetry Collector (``scripts/dev/otelcol``) with the
  ``otlp`` receiver on a free port and the ``debug`` exporter at ``detailed`` verbosity:
  its log holds every record it received.
- :class:`Store`: VictoriaLogs on a free port; :meth:`Store.insert` writes lines with the
  stored field names (``devpush/core/labels.py``) through ``/insert/jsonline``.
Each is stopped by its fixture's teardown, pass or fail.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx

from devpush.core.labels import (
    BRANCH_LABEL,
    DEPLOYMENT_LABEL,
    ENVIRONMENT_LABEL,
    LOG_LABELS,
    PROJECT_LABEL,
    SOURCE_LABEL,
    STREAM_LABEL,
)
from devpush_dev import processes
from devpush_dev.otelcol import collector_binary
from devpush_dev.ports import free_port
from devpush_dev.victorialogs import VictoriaLogs, start_victorialogs

T = TypeVar("T")
RSYSLOGD = "/usr/sbin/rsyslogd"
_BOM = "\ufeff"
_ATTRIBUTE = re.compile(r"^\s+-> ([\w.]+): Str\((.*)\)$", re.M)
# One received message a line: severity, APP-NAME, PROCID, MSGID, structured data, MSG.
_RSYSLOG_CONF = """\
global(workDirectory="{work}")
module(load="imtcp")
template(name="drain" type="string"
         string="%syslogseverity%\\t%app-name%\\t%procid%\\t%msgid%\\t%structured-data%\\t%msg%\\n")
ruleset(name="drain") {{
  action(type="omfile" file="{out}" template="drain" flushOnTXEnd="on" asyncWriting="off")
}}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="drain")
"""
_OTELCOL_CONF = """\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{port}
exporters:
  debug:
    verbosity: detailed
extensions:
  health_check:
    endpoint: 127.0.0.1:{health}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [debug]
"""


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float = 30.0) -> T:
    """Poll ``probe`` until it returns a value other than None/False/empty."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def _wait_port(port: int, child: processes.Child, *, timeout: float = 20.0) -> None:
    def answers() -> bool:
        if not child.running():
            raise AssertionError(f"{child.name} exited:\n{child.log_tail()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    wait_for(f"{child.name} on port {port}", answers, timeout=timeout)


@dataclass(frozen=True, slots=True)
class SyslogReceived:
    severity: int
    app_name: str
    procid: str
    msgid: str
    structured_data: str
    message: str


@dataclass
class Rsyslog(processes.LoopbackServer):
    scheme = "syslog"

    out: Path

    def received(self) -> list[SyslogReceived]:
        if not self.out.exists():
            return []
        rows = []
        for line in self.out.read_text(errors="replace").splitlines():
            severity, app, procid, msgid, sd, message = line.split("\t", 5)
            rows.append(
                SyslogReceived(int(severity), app, procid, msgid, sd, message.removeprefix(_BOM))
            )
        return rows


def start_rsyslog(root: Path, *, port: int | None = None) -> Rsyslog:
    """rsyslogd in the foreground with its own config and pid file under ``root``."""
    binary = shutil.which("rsyslogd") or RSYSLOGD
    if not Path(binary).is_file():
        raise AssertionError(
            "rsyslogd is not installed: scripts/dev/test-deps.sh installs Debian's rsyslog"
        )
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    conf = root / "rsyslog.conf"
    out = root / "received.log"
    conf.write_text(_RSYSLOG_CONF.format(work=root, out=out, port=port))
    pidfile = root / "rsyslogd.pid"
    pidfile.unlink(missing_ok=True)
    child = processes.start(
        "rsyslogd",
        [binary, "-n", "-f", str(conf), "-i", str(pidfile)],
        log_path=root / "rsyslogd.log",
    )
    try:
        _wait_port(port, child)
    except BaseException:
        child.stop()
        raise
    return Rsyslog(child=child, port=port, out=out)


@dataclass
class OtlpReceiver(processes.LoopbackServer):
    def records(self) -> list[dict[str, str]]:
        """Each received log record: its body, severity text and attributes, and its
        resource's attributes (the debug exporter's text)."""
        text = self.child.log_path.read_text(errors="replace")
        records: list[dict[str, str]] = []
        for resource in text.split("ResourceLog #")[1:]:
            head, *chunks = resource.split("LogRecord #")
            shared = dict(_ATTRIBUTE.findall(head))
            for chunk in chunks:
                record = {**shared, **dict(_ATTRIBUTE.findall(chunk))}
                body = re.search(r"^Body: Str\((.*)\)$", chunk, re.M)
                if body:
                    record["body"] = body.group(1)
                severity = re.search(r"^SeverityText: (.*)$", chunk, re.M)
                record["severity"] = severity.group(1).strip() if severity else ""
                records.append(record)
        return records


def start_otlp_receiver(root: Path) -> OtlpReceiver:
    """Our collector with an otlp (HTTP) receiver; ready when its health check answers."""
    port, health = free_port(), free_port()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "otelcol.yaml"
    config.write_text(_OTELCOL_CONF.format(port=port, health=health))
    spec = processes.ProcessSpec(
        name="otlp-receiver",
        argv=[str(collector_binary()), f"--config={config}"],
        state_dir=root,
        log_name="otelcol.log",
        ready_url=f"http://127.0.0.1:{health}/",
    )
    return OtlpReceiver(child=spec.start(), port=port)


@dataclass
class Store:
    """VictoriaLogs on loopback, written to as the collectors write."""

    vl: VictoriaLogs

    @property
    def url(self) -> str:
        return self.vl.url

    def insert(self, entries: Iterable[Mapping[str, str]]) -> None:
        """Store ``entries`` (field → value; ``_msg`` is the line, ``_time`` RFC 3339)."""
        fields = ",".join((*LOG_LABELS, STREAM_LABEL, SOURCE_LABEL))
        body = "".join(json.dumps(dict(entry)) + "\n" for entry in entries)
        answer = httpx.post(
            f"{self.url}/insert/jsonline",
            params={"_stream_fields": fields, "_time_field": "_time", "_msg_field": "_msg"},
            content=body.encode(),
            timeout=10,
        )
        answer.raise_for_status()


def line(
    text: str,
    *,
    project_id: str,
    environment_id: str = "env-prod",
    deployment_id: str = "dep-1",
    stream: str | None = "stdout",
    source: str | None = None,
    at: datetime | None = None,
) -> dict[str, str]:
    """A stored line's fields: a runner line (``stream``) or a request entry (``source``)."""
    entry = {
        "_time": (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "_msg": text,
        PROJECT_LABEL: project_id,
        ENVIRONMENT_LABEL: environment_id,
        BRANCH_LABEL: "main",
        DEPLOYMENT_LABEL: deployment_id,
    }
    if stream:
        entry[STREAM_LABEL] = stream
    if source:
        entry[SOURCE_LABEL] = source
    return entry


def start_store(root: Path) -> Store:
    return Store(vl=start_victorialogs(data_dir=root, http_port=free_port()))


def stopping(start: Callable[[], T], stop: Callable[[T], None]) -> Iterator[T]:
    """A fixture body: start, yield, stop pass or fail."""
    thing = start()
    try:
        yield thing
    finally:
        stop(thing)
