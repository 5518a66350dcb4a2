"""Taking and handing over through the API: take a particular ticket, release it, assign it (leads), set its
priority and tags. Thin: each route calls one function of ``router.tickets.handover``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from router.deps import ContextDep, CurrentActor, SessionDep, TicketForChange
from router.openapi import JSON_BODY, ONE_TICKET, SIGNED_IN_WITH_PARAMETERS, problems
from router.problems import require_json
from router.tickets import handover
from router.tickets.handover_schemas import AssignIn, PriorityIn, ReleaseIn, TagsIn
from router.tickets.queries import ticket_view
from router.tickets.schemas import TicketOut

api = APIRouter(prefix="/tickets", tags=["tickets"], responses=SIGNED_IN_WITH_PARAMETERS)
CHANGE = ONE_TICKET | problems(409)
CHANGE_WITH_BODY = CHANGE | JSON_BODY
JsonBody = [Depends(require_json)]


@api.post("/{ticket_id}/take", response_model=TicketOut, responses=CHANGE)
async def take(ticket: TicketForChange, ctx: ContextDep, session: SessionDep, actor: CurrentActor) -> TicketOut:
    """Take this queued ticket (not the head of the queue), where the tier's take policy allows it."""
    taken = await handover.take(session, ticket, actor, policies=ctx.settings.take_policy)
    return await ticket_view(session, taken)


@api.post("/{ticket_id}/release", response_model=TicketOut, dependencies=JsonBody, responses=CHANGE_WITH_BODY)
async def release(body: ReleaseIn, ticket: TicketForChange, session: SessionDep, actor: CurrentActor) -> TicketOut:
    """Give your in-progress ticket back to its queue, at its original place (leads: anyone's)."""
    return await ticket_view(session, await handover.release(session, ticket, actor, reason=body.reason))


@api.post(
    "/{ticket_id}/assign",
    response_model=TicketOut,
    dependencies=JsonBody,
    responses=CHANGE_WITH_BODY,
)
async def assign(body: AssignIn, ticket: TicketForChange, session: SessionDep, actor: CurrentActor) -> TicketOut:
    """Leads only: hand the ticket to an active agent who works its tier, with a reason."""
    assigned = await handover.assign_to(session, ticket, actor, body.agent_id, reason=body.reason)
    return await ticket_view(session, assigned)


@api.post("/{ticket_id}/priority", response_model=TicketOut, dependencies=JsonBody, responses=CHANGE_WITH_BODY)
async def priority(body: PriorityIn, ticket: TicketForChange, session: SessionDep, actor: CurrentActor) -> TicketOut:
    """Set the priority by hand; a queued ticket moves to its new place in the queue."""
    changed = await handover.set_priority(session, ticket, actor, priority=body.priority, reason=body.reason)
    return await ticket_view(session, changed)


@api.post("/{ticket_id}/tags", response_model=TicketOut, dependencies=JsonBody, responses=CHANGE_WITH_BODY)
async def tags(body: TagsIn, ticket: TicketForChange, session: SessionDep, actor: CurrentActor) -> TicketOut:
    """Add and remove tags."""
    changed = await handover.change_tags(session, ticket, actor, add=body.add, remove=body.remove)
    return await ticket_view(session, changed)
