"""The site's icon at ``/favicon.ico``, where browsers look for it on every page that names none (the JSON
API, ``/docs``); the UI's pages name ``/ui/static/favicon.svg``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse

ICON = Path(__file__).resolve().parent / "static" / "favicon.ico"


def install(app: FastAPI) -> None:
    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(ICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})
