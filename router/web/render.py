"""Render a page of the web UI with what every page needs, and the security headers every page gets."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from router.context import AppContext
from router.models.agents import Agent
from router.web.nav import NavAgent
from router.web.session import csrf_token, take_flashes

#: Pages load only this site's scripts, styles and images: an injected ``<script>`` or remote image
#: would not run or load even if it got past escaping and sanitising.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


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
    html = ctx.templates.get_template(template).render(
        agent=agent,
        csrf=csrf_token(request),
        flashes=take_flashes(request),
        path=request.url.path,
        tier_names=ctx.settings.support_tier_names,
        customer_tier_names=ctx.settings.customer_tier_names,
        unread_notifications=getattr(request.state, "unread_notifications", None),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
