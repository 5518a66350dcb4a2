"""Render a page of the web UI with what every page needs (its security headers come from
``router.security_headers``, like every HTML response's)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from router.context import AppContext
from router.models.agents import Agent
from router.web.nav import NavAgent
from router.web.session import csrf_token, take_flashes
from rules.vocabulary import customer_scale


def page(
    request: Request,
    ctx: AppContext,
    template: str,
    *,
    agent: Agent | NavAgent | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = ctx.templates.get_template(template).render(**page_context(request, ctx, agent=agent), **context)
    return HTMLResponse(html, status_code=status, headers=headers)


def page_context(request: Request, ctx: AppContext, *, agent: Agent | NavAgent | None) -> dict[str, Any]:
    """What every page's template gets (``web/base.html``): read from the request, so a page rendered
    elsewhere (the report, off the event loop) takes it along."""
    return {
        "agent": agent,
        "csrf": csrf_token(request),
        "flashes": take_flashes(request),
        "path": request.url.path,
        "tier_names": ctx.settings.support_tier_names,
        "customer_tier_names": customer_scale().numbered(ctx.settings.customer_tier_names),  # by number
        "unread_notifications": getattr(request.state, "unread_notifications", None),
        "notifications_seen": getattr(request.state, "notifications_seen", 0),
    }
