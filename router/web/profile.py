"""The signed-in agent's own profile: the time zone their pages show times in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from router.agents import service as agents
from router.deps import ContextDep, SessionDep
from router.models.columns import utcnow
from router.web import csrf
from router.web.admin import Line, see_other
from router.web.deps import WebAgent
from router.web.errors import PREFIX
from router.web.render import page
from router.web.session import flash

profile = APIRouter(prefix=f"{PREFIX}/profile", include_in_schema=False, dependencies=[Depends(csrf.protect)])


@profile.get("", response_class=HTMLResponse)
async def profile_page(request: Request, ctx: ContextDep, agent: WebAgent) -> HTMLResponse:
    return page(request, ctx, "web/profile.html", agent=agent, time_zones=agents.time_zone_names(), now=utcnow())


@profile.post("")
async def save_profile(
    request: Request, session: SessionDep, agent: WebAgent, time_zone: Line = ""
) -> RedirectResponse:
    """An unknown zone is a 422 page; empty means UTC."""
    await agents.set_time_zone(session, agent, time_zone)
    flash(request, f"Times are now shown in {agent.time_zone or 'UTC'}.")
    return see_other(f"{PREFIX}/profile")
