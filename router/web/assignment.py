"""Push assignment in the agent UI: the status toggle in the navigation bar, answering an offer, and the
lead's team page (who is on, how loaded)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from router.agents import service as agents
from router.assignment import team as team_view
from router.bounds import MAX_ROW_ID
from router.deps import ContextDep, SessionDep
from router.errors import NotFound
from router.tickets import offers
from router.web import csrf
from router.web.admin import Line, WebLead, see_other
from router.web.deps import WebAgent
from router.web.errors import PREFIX
from router.web.render import page
from router.web.session import flash
from rules.vocabulary import SUPPORT_TIERS

assignment_ui = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(csrf.protect)])


@assignment_ui.post("/me/status")
async def set_status(request: Request, session: SessionDep, agent: WebAgent, status: Line = "") -> RedirectResponse:
    """The navigation bar's toggle; back to the page it was on (an unknown status is a 422 page)."""
    await agents.set_status(session, agent, status)
    flash(request, f"You are {agent.status}.")
    back = request.headers.get("referer", "")
    path = back.split("//", 1)[-1].partition("/")[2] if "//" in back else ""
    return see_other(f"/{path}" if path.startswith("ui/") else f"{PREFIX}/")


@assignment_ui.post("/tickets/{ticket_id}/offer/accept")
async def accept(request: Request, session: SessionDep, agent: WebAgent, ticket_id: int) -> RedirectResponse:
    outcome = await offers.accept(session, _checked(ticket_id), agent)
    if isinstance(outcome, offers.Refused):  # closed for good: the page says so and goes back to the queues
        flash(request, outcome.reason[:1].upper() + outcome.reason[1:] + ".")
        return see_other(f"{PREFIX}/")
    flash(request, f"{outcome.ref} is yours.")
    return see_other(f"{PREFIX}/tickets/{outcome.id}")


@assignment_ui.post("/tickets/{ticket_id}/offer/decline")
async def decline(request: Request, session: SessionDep, agent: WebAgent, ticket_id: int) -> RedirectResponse:
    ticket = await offers.decline(session, _checked(ticket_id), agent)
    flash(request, f"{ticket.ref} went back to the queue.")
    return see_other(f"{PREFIX}/")


def _checked(ticket_id: int) -> int:
    if not 1 <= ticket_id <= MAX_ROW_ID:
        raise NotFound(f"ticket {ticket_id} does not exist", ticket_id=ticket_id)
    return ticket_id


@assignment_ui.get("/team", response_class=HTMLResponse)
async def team(request: Request, ctx: ContextDep, session: SessionDep, agent: WebLead) -> HTMLResponse:
    """Leads: who is on (status, live presence, shift) and how loaded (open tickets against caps per tier)."""
    settings = ctx.assignment.current()
    members = await team_view.team(session, seen=await ctx.live.last_seen_or_unknown(), away_after=settings.away_after)
    strategies = {tier: settings.of(tier).strategy for tier in SUPPORT_TIERS}
    return page(request, ctx, "web/team.html", agent=agent, members=members, strategies=strategies)
