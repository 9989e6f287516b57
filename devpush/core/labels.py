"""The labels that tie a runner container's log lines to a deployment.

The deploy worker puts ``RUNNER_LABELS`` on every runner container; the collector
(``Docker/otelcol/config.yaml`` or ``Docker/alloy/config.alloy``) maps each
``devpush.<name>`` label to the stored field ``<name>``; the app queries the log store
by those names. Tests check that the collectors' configs map exactly these, so this
module is the one place to change them.
"""

from __future__ import annotations

from typing import Final

#: Prefix of every Docker label the platform sets on its containers.
LABEL_PREFIX: Final = "devpush."

#: The stored fields (labels) that scope a line, in every log store.
PROJECT_LABEL: Final = "project_id"
ENVIRONMENT_LABEL: Final = "environment_id"
BRANCH_LABEL: Final = "branch"
DEPLOYMENT_LABEL: Final = "deployment_id"
#: Those names, in the order the UI shows filters.
LOG_LABELS: Final = (PROJECT_LABEL, ENVIRONMENT_LABEL, BRANCH_LABEL, DEPLOYMENT_LABEL)

#: Docker label keys on runner containers (``devpush.project_id`` …).
RUNNER_LABELS: Final = tuple(f"{LABEL_PREFIX}{name}" for name in LOG_LABELS)

#: json-file ``labels`` log option: Docker copies these labels into every line's ``attrs``,
#: so a collector that reads the files alone (no Docker API) knows each line's deployment.
RUNNER_LOG_LABELS_OPTION: Final = ",".join(RUNNER_LABELS)

#: Fields of a stored line besides its time and text, in every log store: the four
#: labels plus the Docker stream. The collectors write exactly these.
LOG_FIELDS: Final = (*LOG_LABELS, "stream")

#: The label the collectors select runner containers by.
RUNNER_SELECTOR_LABEL: Final = f"{LABEL_PREFIX}{DEPLOYMENT_LABEL}"

#: Marks the containers the deploy worker owns (it stops and cleans up only these).
ROLE_LABEL: Final = f"{LABEL_PREFIX}role"
RUNNER_ROLE: Final = "runner"
#: Marks the images the deploy worker commits from ready runners (kept builds).
BUILD_ROLE: Final = "build"

#: The Docker stream of each line, a field in every store, and its values.
STREAM_LABEL: Final = "stream"
LOG_STREAMS: Final = ("stdout", "stderr")
#: Where a line comes from, a field in every store: a runner's Docker stream, or the
#: proxy's access log (one entry per request a deployment served). Runner lines are stored
#: without it (their ``stream`` says it); request entries carry ``source="request"``.
SOURCE_LABEL: Final = "source"
REQUEST_SOURCE: Final = "request"
LOG_SOURCES: Final = (*LOG_STREAMS, REQUEST_SOURCE)
#: Swarm mode: the host that ran the runner (its node's host name), a stored field and a
#: stream field. The collector that runs on each node as a global service sets it from its
#: ``DEVPUSH_COLLECTOR_HOST`` (Docker's ``{{.Node.Hostname}}``); on one server a line has
#: none, and the views, the API and the CLI show none.
HOST_LABEL: Final = "host"
#: The stored fields of a request entry (besides the four labels and ``source``), by the
#: name the API's ``request`` object and the query language give them.
REQUEST_FIELDS: Final = {
    "method": "request.method",
    "host": "request.host",
    "path": "request.path",
    "status": "request.status",
    "duration_ms": "request.duration_ms",
    "bytes": "request.bytes",
    "client": "request.client",
    "user_agent": "request.user_agent",
}
#: Loki only: Alloy adds ``job="docker"`` to every shipped line (a stream selector needs
#: one matcher that every stream has).
JOB_LABEL: Final = "job"
LOKI_JOB: Final = "docker"


def runner_labels(
    *, project_id: str, environment_id: str, branch: str, deployment_id: str
) -> dict[str, str]:
    """Docker labels for a runner container of one deployment."""
    values = {
        PROJECT_LABEL: project_id,
        ENVIRONMENT_LABEL: environment_id,
        BRANCH_LABEL: branch,
        DEPLOYMENT_LABEL: deployment_id,
    }
    return {f"{LABEL_PREFIX}{name}": values[name] for name in LOG_LABELS}
