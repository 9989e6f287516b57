"""The address forges post to: ``POST /api/v1/hooks/<project id>``, no API token.

The caller proves itself with the project's webhook secret (a signature or GitLab's
token); the flow is ``devpush.services.webhooks.receive``. An unknown project and a project
without a webhook answer the same 404, so the address does not tell which projects
exist. The body is read in chunks and refused (413) as soon as it is over the limit.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from devpush.deps import FernetDep, QueueDep, SessionDep, SettingsDep
from devpush.services.webhooks import detect_forge
from devpush.services.webhooks.receive import Answer, Call, find_project, receive, refuse

router = APIRouter(prefix="/hooks", tags=["webhooks"])


class BodyTooLargeError(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLargeError once it passes ``limit`` (never read further)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise BodyTooLargeError
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLargeError
    return bytes(body)


def _json(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body(), status_code=answer.status_code)


@router.post(
    "/{project_id}",
    responses={
        200: {"description": "handled: ignored, stopped, or a delivery seen before"},
        202: {"description": "a deployment is queued"},
        401: {"description": "a missing or wrong signature"},
        404: {"description": "no webhook at this address"},
        413: {"description": "the body is over the limit"},
    },
)
async def hook(
    project_id: str,
    request: Request,
    session: SessionDep,
    fernet: FernetDep,
    queue: QueueDep,
    settings: SettingsDep,
) -> JSONResponse:
    """A forge's call (GitHub, GitLab, Gitea, Forgejo, or devpush's generic form):
    ``{"delivery", "result", "reason", "deployment_id"}``; see docs/git.md."""
    project = await run_in_threadpool(find_project, session, project_id=project_id)
    try:
        body = await _read_body(request, settings.webhook_max_body_bytes)
    except BodyTooLargeError:
        answer = await run_in_threadpool(
            refuse,
            session,
            Call.of(project, detect_forge(request.headers), request.headers),
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            reason=f"the body is over {settings.webhook_max_body_bytes} bytes",
            keep=settings.webhook_deliveries_kept,
        )
        return _json(answer)
    answer = await run_in_threadpool(
        receive,
        session,
        project=project,
        headers=request.headers,
        body=body,
        fernet=fernet,
        queue=queue,
        keep=settings.webhook_deliveries_kept,
    )
    return _json(answer)
