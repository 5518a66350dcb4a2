"""``/docs``: Swagger UI served from this app (the ``swagger-ui-bundle-v2`` package's files), never from a CDN.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script; both are refused by
the pages' Content-Security-Policy (``script-src 'self'``). This page loads the same files from
``/docs/assets/`` and starts Swagger UI from a script file, so it runs under the UI's policy unchanged.
ReDoc is not served (it too loads from a CDN).
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"

#: Starts Swagger UI with FastAPI's defaults, reading the document's URL from the page.
_START = """\
window.ui = SwaggerUIBundle({
  url: document.body.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def _page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - API docs</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">
</head>
<body data-openapi-url="{escape(openapi_url)}">
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve ``/docs`` (build the app with ``docs_url=None, redoc_url=None`` so FastAPI's page is not there)."""
    pages = APIRouter(include_in_schema=False)
    html = _page(app.title, app.openapi_url or "/openapi.json")

    @pages.get("/docs", response_class=HTMLResponse)
    async def docs() -> HTMLResponse:
        return HTMLResponse(html)

    @pages.get("/docs/start.js")
    async def start_script() -> Response:
        return Response(_START, media_type="text/javascript", headers={"X-Content-Type-Options": "nosniff"})

    app.include_router(pages)
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")
