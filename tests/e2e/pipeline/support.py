"""What the pipeline tests share beside their fixtures (conftest.py): the labels Alloy gives
a deployment's runner lines in Loki."""

from __future__ import annotations

from devpush.core.labels import LOKI_JOB
from devpush.models import Deployment


def labels_of(deployment: Deployment, stream: str = "stdout") -> dict[str, str]:
    return {
        "project_id": deployment.project_id,
        "environment_id": deployment.environment_id,
        "branch": deployment.branch,
        "deployment_id": deployment.id,
        "job": LOKI_JOB,
        "stream": stream,
    }
