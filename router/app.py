"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI

from router import heap, logs, openapi, problems
from router.agents.routes import api as agents_api
from router.assignment.routes import api as assignment_api
from router.context import AppContext
from router.customers.routes import api as customers_api
from router.customers.tier_routes import api as customer_tier_api
from router.forecast.routes import api as forecast_api
from router.intake.routes import api as intake_api
from router.kb.pages import pages as help_pages
from router.kb.routes import api as kb_api
from router.macros.routes import api as macros_api
from router.metrics import RequestTimer
from router.notifications.routes import api as notifications_api
from router.reports.routes import api as reports_api
from router.reports.routes import pages as reports_pages
from router.reports.tier_review_routes import api as tier_review_api
from router.reports.tier_review_routes import pages as tier_review_pages
from router.routing.routes import api as rules_api
from router.security_headers import HtmlSecurityHeaders
from router.self_service.routes import public as self_service_pages
from router.settings import Settings
from router.system import docs
from router.system.routes import api as system_api
from router.tickets.attachment_routes import api as attachments_api
from router.tickets.handover_routes import api as handover_api
from router.tickets.routes import api as tickets_api
from router.tierqueues.routes import api as queues_api
from router.web import favicon
from router.web import install as install_web
from router.webhooks.routes import api as webhooks_api
from router.workspace.routes import api as workspace_api

#: Replies and notes with files, and macros applied with files: multipart bodies up to the upload limit.
UPLOAD_PATHS = r"/(api/v1|ui)/tickets/[0-9]+/(messages(/multipart)?|macros/[0-9]+/apply)"
ContextFactory = Callable[[Settings], AbstractAsyncContextManager[AppContext]]


def create_app(settings: Settings, open_context: ContextFactory) -> FastAPI:
    """Build the app; ``open_context`` supplies database, Redis and rulebook for the app's lifetime."""
    logs.configure()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_context(settings) as ctx:
            app.state.ctx = ctx
            heap.freeze_startup_heap()  # full collections would stop every request for 150-200 ms
            yield

    app = FastAPI(
        title="tierroute",
        version="0.1.0",
        summary="Support-ticket escalation router",
        lifespan=lifespan,
        # Served by ``router.system.docs`` from local files (FastAPI's pages load from CDNs).
        docs_url=None,
        redoc_url=None,
    )
    problems.install(app)
    openapi.install(app)
    v1 = APIRouter(prefix="/api/v1")
    v1.include_router(intake_api)
    v1.include_router(tickets_api)
    v1.include_router(handover_api)
    v1.include_router(attachments_api)
    v1.include_router(macros_api)
    v1.include_router(kb_api)
    v1.include_router(queues_api)
    v1.include_router(forecast_api)
    v1.include_router(rules_api)
    v1.include_router(webhooks_api)
    v1.include_router(reports_api)
    v1.include_router(tier_review_api)
    v1.include_router(notifications_api)
    v1.include_router(workspace_api)
    v1.include_router(assignment_api)  # before agents_api: /agents/me/status is not an agent id
    v1.include_router(agents_api)
    v1.include_router(customers_api)
    v1.include_router(customer_tier_api)
    app.include_router(v1)
    app.include_router(system_api)
    docs.install(app)
    install_web(app, settings)
    favicon.install(app)
    app.include_router(reports_pages)
    app.include_router(tier_review_pages)
    app.include_router(help_pages)
    app.include_router(self_service_pages)
    app.add_middleware(
        problems.BodyLimit,
        max_bytes=settings.max_body_bytes,
        per_path={"/api/v1/intake/email": settings.max_email_bytes},
        per_pattern={UPLOAD_PATHS: settings.max_reply_upload_bytes},
    )
    app.add_middleware(RequestTimer)
    app.add_middleware(HtmlSecurityHeaders)
    return app
