"""The deployment page's metrics panel: CPU, memory and network charts, refreshed by htmx."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from devpush.deps import SessionDep, SettingsDep, WebDeployment
from devpush.models import DeploymentStatus
from devpush.services.metrics import DEFAULT_RANGE, RANGES, read_recent
from devpush.web.metric_charts import HEIGHT, WIDTH, charts
from devpush.web.rendering import render

router = APIRouter(tags=["metrics"])


@router.get("/projects/{project_ref}/deployments/{deployment_id}/metrics")
def metrics_panel(
    request: Request,
    deployment: WebDeployment,
    session: SessionDep,
    settings: SettingsDep,
    range_name: str = Query(DEFAULT_RANGE, alias="range", max_length=8),
) -> Response:
    """The panel; while the deployment runs it asks for itself again every interval."""
    found = read_recent(
        session, deployment_id=deployment.id, range_name=range_name, settings=settings
    )
    return render(
        request,
        "metrics/partials/_charts.html",
        {
            "deployment": deployment,
            "found": found,
            "charts": charts(found),
            "ranges": list(RANGES),
            "width": WIDTH,
            "height": HEIGHT,
            "refresh_seconds": settings.metrics_interval_seconds,
            "live": deployment.status is DeploymentStatus.RUNNING,
        },
    )
