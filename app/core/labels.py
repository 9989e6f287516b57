"""The labels that tie a runner container's log lines to a deployment.

The deploy worker puts ``RUNNER_LABELS`` on every runner container; Alloy
(``Docker/alloy/config.alloy``) maps each ``devpush.<name>`` label to the Loki
label ``<name>``; the app queries Loki by those names. A test checks that the
Alloy config maps exactly these, so this module is the one place to change them.
"""

from __future__ import annotations

from typing import Final

#: Prefix of every Docker label the platform sets on its containers.
LABEL_PREFIX: Final = "devpush."

#: Loki label names, in the order the UI shows filters.
LOKI_LABELS: Final = ("project_id", "environment_id", "branch", "deployment_id")

#: Docker label keys on runner containers (``devpush.project_id`` …).
RUNNER_LABELS: Final = tuple(f"{LABEL_PREFIX}{name}" for name in LOKI_LABELS)

#: json-file ``labels`` log option: Docker copies these labels into every line's ``attrs``,
#: so a collector that reads the files alone (no Docker API) knows each line's deployment.
RUNNER_LOG_LABELS_OPTION: Final = ",".join(RUNNER_LABELS)

#: Fields of a stored line besides its time and text, in every log store: the four
#: labels plus the Docker stream. The collectors write exactly these.
LOG_FIELDS: Final = (*LOKI_LABELS, "stream")

#: The label Alloy selects runner containers by.
RUNNER_SELECTOR_LABEL: Final = f"{LABEL_PREFIX}deployment_id"

#: Marks the containers the deploy worker owns (it stops and cleans up only these).
ROLE_LABEL: Final = f"{LABEL_PREFIX}role"
RUNNER_ROLE: Final = "runner"

#: Labels Alloy adds to every shipped line: ``job="docker"`` and the Docker stream.
JOB_LABEL: Final = "job"
LOKI_JOB: Final = "docker"
STREAM_LABEL: Final = "stream"
LOKI_STREAMS: Final = ("stdout", "stderr")


def runner_labels(
    *, project_id: str, environment_id: str, branch: str, deployment_id: str
) -> dict[str, str]:
    """Docker labels for a runner container of one deployment."""
    values = {
        "project_id": project_id,
        "environment_id": environment_id,
        "branch": branch,
        "deployment_id": deployment_id,
    }
    return {f"{LABEL_PREFIX}{name}": values[name] for name in LOKI_LABELS}
