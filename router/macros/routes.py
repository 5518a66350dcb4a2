"""Macro endpoints: leads create, change and delete them; agents list them, preview one on a ticket and
apply it. Thin: each calls one function of ``router.macros``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from router.bounds import MAX_ROW_ID
from router.deps import ContextDep, CurrentActor, CurrentAgent, CurrentLead, SessionDep, TicketForChange, TicketFromPath
from router.macros import applying
from router.macros import service as macros
from router.macros.schemas import ApplyIn, ApplyOut, MacroIn, MacroOut, PreviewOut
from router.models.macros import Macro
from router.openapi import JSON_BODY, LEADS_ONLY, ONE_TICKET, SIGNED_IN_WITH_PARAMETERS, answer, problems
from router.problems import require_json
from router.tickets.queries import message_views, ticket_view

api = APIRouter(tags=["macros"], responses=SIGNED_IN_WITH_PARAMETERS)
MacroId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the macro's id")]
JsonBody = [Depends(require_json)]
#: A lead's change: 403 for agents, 404 for a macro that is not there, 409 for a name taken, 422 for a
#: template that cannot render (with its line).
LEAD_CHANGE = LEADS_ONLY | JSON_BODY | problems(404, 409)


def _out(macro: Macro) -> MacroOut:
    return MacroOut.model_validate(macro, from_attributes=True)


@api.get("/macros", response_model=list[MacroOut])
async def list_macros(session: SessionDep, agent: CurrentAgent) -> list[MacroOut]:
    """The macros you can use (those of your tiers, and those for every tier); leads see all."""
    return [_out(m) for m in await macros.for_agent(session, agent)]


@api.post("/macros", response_model=MacroOut, status_code=201, dependencies=JsonBody, responses=LEAD_CHANGE)
async def create_macro(body: MacroIn, session: SessionDep, lead: CurrentLead) -> MacroOut:
    """Leads only. A template that cannot render is a 422 naming its line."""
    return _out(await macros.create(session, lead, body))


@api.put("/macros/{macro_id}", response_model=MacroOut, dependencies=JsonBody, responses=LEAD_CHANGE)
async def update_macro(macro_id: MacroId, body: MacroIn, session: SessionDep, lead: CurrentLead) -> MacroOut:
    """Leads only: replace the macro's name, template, actions and tiers."""
    return _out(await macros.update(session, lead, macro_id, body))


@api.delete("/macros/{macro_id}", status_code=204, responses=LEADS_ONLY | problems(404) | answer(204, "deleted"))
async def delete_macro(macro_id: MacroId, session: SessionDep, lead: CurrentLead) -> Response:
    await macros.delete(session, lead, macro_id)
    return Response(status_code=204)


@api.get("/tickets/{ticket_id}/macros", response_model=list[MacroOut], responses=ONE_TICKET)
async def ticket_macros(ticket: TicketFromPath, session: SessionDep) -> list[MacroOut]:
    """The macros that serve this ticket's tier."""
    return [_out(m) for m in await macros.for_ticket(session, ticket)]


@api.get(
    "/tickets/{ticket_id}/macros/{macro_id}/preview", response_model=PreviewOut, responses=ONE_TICKET | problems(404)
)
async def preview_macro(
    macro_id: MacroId, ticket: TicketFromPath, ctx: ContextDep, session: SessionDep, actor: CurrentActor
) -> PreviewOut:
    """The macro's message rendered for this ticket, and its actions in words; nothing changes."""
    found = await applying.preview(session, ticket, actor, macro_id, ctx.settings)
    assert found.macro.id is not None
    return PreviewOut(
        macro_id=found.macro.id,
        name=found.macro.name,
        body=found.body,
        internal=found.macro.internal,
        actions=found.actions,
    )


@api.post(
    "/tickets/{ticket_id}/macros/{macro_id}/apply",
    response_model=ApplyOut,
    dependencies=JsonBody,
    responses=ONE_TICKET | JSON_BODY | problems(409),
)
async def apply_macro(
    macro_id: MacroId,
    body: ApplyIn,
    ticket: TicketForChange,
    ctx: ContextDep,
    session: SessionDep,
    actor: CurrentActor,
) -> ApplyOut:
    """Send the macro's message (``body``: your edit of the preview) and take its actions, all or nothing."""
    message = await applying.apply(session, ticket, actor, macro_id, ctx.settings, body=body.body)
    await session.flush()
    [message_out] = await message_views(session, [message])
    return ApplyOut(ticket=await ticket_view(session, ticket), message=message_out)
