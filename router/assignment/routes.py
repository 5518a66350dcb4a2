"""Push assignment over the JSON API: an agent's own status, their offers and the answer, the team's load."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from router.agents import service as agents
from router.assignment import queries, team
from router.assignment.schemas import OfferOut, StatusIn, StatusOut, TeamMember
from router.bounds import MAX_ROW_ID
from router.deps import ContextDep, CurrentAgent, CurrentLead, SessionDep
from router.errors import Conflict
from router.openapi import JSON_BODY, SIGNED_IN_WITH_PARAMETERS, answer, problems
from router.problems import require_json
from router.tickets import offers
from router.tickets import queries as ticket_queries
from router.tickets.schemas import TicketOut
from router.unit_of_work import commit

TicketId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the ticket's id")]

api = APIRouter(tags=["assignment"], responses=SIGNED_IN_WITH_PARAMETERS)


@api.put("/agents/me/status", response_model=StatusOut, dependencies=[Depends(require_json)], responses=JSON_BODY)
async def set_my_status(body: StatusIn, session: SessionDep, agent: CurrentAgent) -> StatusOut:
    """``available`` (push assignment may offer you work), ``away`` or ``offline``."""
    assert agent.id is not None
    mine = await agents.get_agent(session, agent.id)  # the request's agent may come from the token cache
    await agents.set_status(session, mine, body.status)
    return StatusOut(id=agent.id, status=mine.status)


@api.get("/offers", response_model=list[OfferOut])
async def my_offers(session: SessionDep, agent: CurrentAgent) -> list[OfferOut]:
    """Tickets offered to you and not yet answered, oldest first."""
    assert agent.id is not None
    return [OfferOut.model_validate(o) for o in await queries.pending_for(session, agent.id)]


@api.post("/tickets/{ticket_id}/offer/accept", response_model=TicketOut, responses=problems(404, 409))
async def accept_offer(ctx: ContextDep, ticket_id: TicketId, session: SessionDep, agent: CurrentAgent) -> TicketOut:
    """Take the ticket offered to you: it becomes yours, in progress (409 when it moved on meanwhile, the offer
    ran out or you no longer work its tier: the offer is closed then, and the ticket back in its queue)."""
    outcome = await offers.accept(session, ticket_id, agent)
    if isinstance(outcome, offers.Refused):
        await commit(session, ctx.effects)
        raise Conflict(outcome.reason, ticket_id=ticket_id)
    return await ticket_queries.ticket_view(session, outcome)


@api.post(
    "/tickets/{ticket_id}/offer/decline",
    status_code=204,
    responses=problems(404) | answer(204, "the ticket is back at its place in the queue"),
)
async def decline_offer(ticket_id: TicketId, session: SessionDep, agent: CurrentAgent) -> Response:
    """Pass on the ticket offered to you: it goes back to its place in the queue, for another agent."""
    await offers.decline(session, ticket_id, agent)
    return Response(status_code=204)


@api.get("/team", response_model=list[TeamMember])
async def team_load(ctx: ContextDep, session: SessionDep, _lead: CurrentLead) -> list[TeamMember]:
    """Leads: who is on (status, presence, shift) and how loaded (open tickets against caps per tier)."""
    seen = await ctx.live.last_seen_or_unknown()
    return await team.team(session, seen=seen, away_after=ctx.assignment.current().away_after)
