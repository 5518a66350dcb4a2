"""The agents' web UI: server-rendered Jinja2 pages, htmx for partial updates, a signed session cookie.

``install`` wires it into the application: session middleware, the ``/ui`` routes, vendored static files
and HTML error pages for ``/ui`` paths (the JSON API keeps its problem+json).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from router.settings import Settings
from router.web import errors
from router.web.admin_agents import admin_agents
from router.web.admin_customers import admin_customers
from router.web.articles import ui as articles_ui
from router.web.assignment import assignment_ui
from router.web.customer_pages import customer_pages
from router.web.handover import ui as handover_ui
from router.web.kb import ui as kb_ui
from router.web.live_pages import live_ui
from router.web.macros import ui as macros_ui
from router.web.notification_pages import notifications_ui
from router.web.profile import profile
from router.web.routes import PREFIX, ui
from router.web.workspace import pages as workspace_pages

STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "tierroute_session"


def install(app: FastAPI, settings: Settings) -> None:
    app.include_router(ui)
    app.include_router(handover_ui)
    app.include_router(macros_ui)
    app.include_router(articles_ui)
    app.include_router(kb_ui)
    app.include_router(live_ui)
    app.include_router(assignment_ui)
    app.include_router(notifications_ui)
    app.include_router(workspace_pages)
    for pages in (admin_agents, admin_customers, customer_pages, profile):
        app.include_router(pages)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="ui-static")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    errors.install(app)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.session_cookie_secure,
    )
