"""Taking and handing over in the web UI: take a particular ticket, release it, set its priority and tags.

Each route calls one function of ``router.tickets.handover`` and answers with a redirect (post/redirect/
get). Reassigning (leads) is ``routes.reassign``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import StringConstraints

from router.deps import ContextDep, SessionDep
from router.models.tickets import Priority
from router.tickets import handover
from router.web import csrf
from router.web.deps import WebActor, WebTicketForChange
from router.web.errors import PREFIX
from router.web.routes import Clean, OptionalText
from router.web.session import flash

ui = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(csrf.protect)])
TagsText = Annotated[str, Form(), StringConstraints(max_length=4000), Clean]


def _back_to(ticket_id: int | None) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}", status_code=303)


@ui.post("/tickets/{ticket_id}/take")
async def take(
    request: Request, ctx: ContextDep, session: SessionDep, actor: WebActor, ticket: WebTicketForChange
) -> RedirectResponse:
    """Take this queued ticket, where the tier's take policy allows it."""
    await handover.take(session, ticket, actor, policies=ctx.settings.take_policy)
    flash(request, f"You took {ticket.ref}.")
    return _back_to(ticket.id)


@ui.post("/tickets/{ticket_id}/release")
async def release(
    request: Request, session: SessionDep, actor: WebActor, ticket: WebTicketForChange, reason: OptionalText = ""
) -> RedirectResponse:
    """Back to its tier's queue, at its original place; the agent goes to that queue."""
    await handover.release(session, ticket, actor, reason=reason or None)
    flash(request, f"{ticket.ref} is back in the tier {ticket.support_tier} queue.")
    return RedirectResponse(f"{PREFIX}/queues/{ticket.support_tier}", status_code=303)


@ui.post("/tickets/{ticket_id}/priority")
async def priority(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    ticket: WebTicketForChange,
    priority: Annotated[Priority, Form()],
    reason: OptionalText = "",
) -> RedirectResponse:
    await handover.set_priority(session, ticket, actor, priority=priority, reason=reason or None)
    flash(request, f"{ticket.ref} has priority {priority}.")
    return _back_to(ticket.id)


@ui.post("/tickets/{ticket_id}/tags")
async def tags(
    request: Request, session: SessionDep, actor: WebActor, ticket: WebTicketForChange, tags: TagsText = ""
) -> RedirectResponse:
    """The ticket's tags as the agent left them in the field (separated by spaces or commas)."""
    wanted = handover.clean_tags(tags.replace(",", " ").split())
    await handover.change_tags(session, ticket, actor, add=wanted, remove=[t for t in ticket.tags if t not in wanted])
    flash(request, f"Tags of {ticket.ref} saved.")
    return _back_to(ticket.id)
