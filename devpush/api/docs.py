"""``/api/docs``: Swagger UI served by the app itself, so the docs work without internet.

FastAPI's own page loads Swagger UI from a CDN; here its files come from the
``fastapi-offline`` package (Swagger UI 5, which reads the OpenAPI 3.1 the app describes),
mounted under ``/api/docs/assets``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/api/docs"
ASSETS_URL = f"{DOCS_URL}/assets"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
# No calls out: Swagger UI would otherwise send the spec to validator.swagger.io for a badge.
_UI_PARAMETERS = {"validatorUrl": None}


def mount_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI for ``app.openapi_url`` at :data:`DOCS_URL` (make the app docs_url=None)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="api-docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=_UI_PARAMETERS,
        )
