"""A deployment's runtime metrics over the API: CPU, memory and network samples of a range."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from devpush.api.schemas import read_fields
from devpush.deps import ApiDeployment, SessionDep, SettingsDep
from devpush.models import DeploymentStatus
from devpush.services.metrics import DEFAULT_RANGE, RANGES, read_recent

router = APIRouter(prefix="/deployments", tags=["metrics"])


class MetricSamplePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    #: CPU cores in use (0.5: half a core); null when not known (a runner's first sample).
    cpu: float | None
    #: Memory in use, without the page cache.
    memory_bytes: int
    #: Bytes received and sent since the runner started (over all its interfaces).
    rx_bytes: int
    tx_bytes: int


class MetricsPublic(BaseModel):
    deployment_id: str
    status: DeploymentStatus
    range: str
    since: datetime
    until: datetime
    #: How often the worker samples a runner, and the width of each point here (wider
    #: than the interval for a long range: its samples are averaged).
    interval_seconds: float
    step_seconds: float
    #: Oldest first.
    samples: list[MetricSamplePublic]


@router.get("/{deployment_id}/metrics", response_model=MetricsPublic)
def get_metrics(
    deployment: ApiDeployment,
    session: SessionDep,
    settings: SettingsDep,
    range_name: str = Query(
        DEFAULT_RANGE, alias="range", max_length=8, description=f"One of {', '.join(RANGES)}"
    ),
) -> MetricsPublic:
    """The deployment's CPU, memory and network samples over the last ``range``."""
    found = read_recent(
        session, deployment_id=deployment.id, range_name=range_name, settings=settings
    )
    return read_fields(
        MetricsPublic,
        found,
        deployment_id=deployment.id,
        status=deployment.status,
        range=found.name,
        interval_seconds=settings.metrics_interval_seconds,
    )
