"""The API's answer to a domain error no route caught: its status and ``{"detail": message}``,
the shape of FastAPI's own errors (``devpush.core.errors``; registered by ``create_app``)."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from devpush.core.errors import DevpushError


def error_answer(exc: DevpushError) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, status_code=exc.http_status, headers=exc.headers)
