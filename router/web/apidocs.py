"""The API's documentation pages, offline: Swagger UI at ``/docs`` and ReDoc at ``/redoc`` from the files
the ``fastapi-offline`` package ships (Swagger UI 5, ReDoc), and the site's favicon.

FastAPI's own pages load their scripts from a CDN and start Swagger UI with an inline script, so they are
blank without internet access and refused under a strict Content-Security-Policy. These pages load only
this site's files; ``static/swagger-init.js`` starts Swagger UI from a ``data-`` attribute.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
WEB_STATIC = Path(__file__).resolve().parent / "static"
ASSETS_PATH = "/docs/assets"
#: Swagger UI sets inline styles and shows images from data: URLs; scripts are this site's files only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def install(app: FastAPI) -> None:
    """Call on an app made with ``docs_url=None, redoc_url=None`` (``router.app``)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=DOCS_ASSETS), name="api-docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return _page(request, "docs/swagger.html", app)

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return _page(request, "docs/redoc.html", app)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(WEB_STATIC / "favicon.ico", media_type="image/x-icon")


def _page(request: Request, template: str, app: FastAPI) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    html = request.app.state.ctx.templates.get_template(template).render(
        title=app.title, openapi_url=f"{root}{app.openapi_url}", assets=f"{root}{ASSETS_PATH}"
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"})
