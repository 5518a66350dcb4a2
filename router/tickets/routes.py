"""Ticket endpoints: read, audit, and the state changes agents make."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import service as audit
from router.deps import CurrentActor, SessionDep, TicketForChange, TicketFromPath
from router.errors import PreconditionFailed
from router.models.tickets import Ticket
from router.openapi import JSON_BODY, ONE_TICKET, SIGNED_IN_WITH_PARAMETERS, problems
from router.problems import require_json
from router.tickets import listing, messages, queries, versions
from router.tickets import service as tickets
from router.tickets.params import PageDep, TicketFiltersDep
from router.tickets.schemas import (
    AuditEventOut,
    AuditVerifyOut,
    DeescalateIn,
    EscalateIn,
    MessageIn,
    MessageOut,
    ReopenIn,
    ResolveIn,
    TicketDetail,
    TicketList,
    TicketOut,
    WaitIn,
)

api = APIRouter(prefix="/tickets", tags=["tickets"], responses=SIGNED_IN_WITH_PARAMETERS)
#: What a change to one ticket can answer besides its result.
CHANGE = ONE_TICKET | JSON_BODY | problems(409, 412)


async def if_match(
    ticket: TicketForChange,
    if_match: Annotated[
        str | None,
        Header(max_length=1000, description="the ticket's `ETag` as you read it: refused (412) if it changed since"),
    ] = None,
) -> None:
    """The optional precondition of every change: a change made on a stale read is refused, not applied."""
    if if_match is not None and not versions.matches(ticket, if_match):
        raise PreconditionFailed(
            f"ticket {ticket.ref} changed since the version you read; read it again", etag=versions.etag_of(ticket)
        )


JsonBody = [Depends(require_json), Depends(if_match)]


async def _out(session: AsyncSession, ticket: Ticket) -> TicketOut:
    return await queries.ticket_view(session, ticket)


@api.get("", response_model=TicketList, responses=problems(403))
async def list_tickets(
    session: SessionDep,
    actor: CurrentActor,
    filters: TicketFiltersDep,
    page: PageDep,
) -> TicketList:
    """Tickets you may see, filtered (every filter given must hold) and sorted: newest first, or best match
    first with ``q`` (full text over subject, messages, requester and customer).

    Page with ``cursor`` (each page's ``next_cursor``, None on the last page) or ``offset``."""
    return await queries.ticket_list(session, await listing.list_page(session, actor, filters, page), page)


@api.get("/{ticket_id}", response_model=TicketDetail, responses=ONE_TICKET)
async def get_ticket(ticket: TicketFromPath, session: SessionDep, response: Response) -> TicketDetail:
    """A ticket with its conversation and routing decision; its ``ETag`` is the version to send back as
    ``If-Match`` with a change."""
    assert ticket.id is not None
    response.headers["ETag"] = versions.etag_of(ticket)
    msgs = await queries.message_views(session, await queries.messages(session, ticket.id))
    return TicketDetail(**(await _out(session, ticket)).model_dump(), messages=msgs)


@api.get("/{ticket_id}/audit", response_model=list[AuditEventOut], responses=ONE_TICKET)
async def get_audit(ticket: TicketFromPath, session: SessionDep) -> list[AuditEventOut]:
    """The ticket's audit trail, oldest first: each event with its seal, key id and the ticket's state after it."""
    assert ticket.id is not None
    return [AuditEventOut.model_validate(e, from_attributes=True) for e in await audit.events(session, ticket.id)]


@api.get("/{ticket_id}/audit/verify", response_model=AuditVerifyOut, responses=ONE_TICKET)
async def verify_audit(ticket: TicketFromPath, session: SessionDep) -> AuditVerifyOut:
    """Check the ticket's keyed audit chain (every seal and link, the head, the row against the head's state);
    ``valid`` is false, with the first broken event and the problem, if anything was altered (docs/audit.md)."""
    return AuditVerifyOut(**(await audit.verify_ticket(session, ticket)).as_dict())


@api.post("/{ticket_id}/escalate", response_model=TicketOut, dependencies=JsonBody, responses=CHANGE)
async def escalate(body: EscalateIn, ticket: TicketForChange, session: SessionDep, actor: CurrentActor) -> TicketOut:
    """Move the ticket up to ``to_tier`` (default: the next tier), with a reason."""
    return await _out(session, await tickets.escalate(session, ticket, actor, reason=body.reason, to_tier=body.to_tier))


@api.post("/{ticket_id}/deescalate", response_model=TicketOut, dependencies=JsonBody, responses=CHANGE)
async def deescalate(
    body: DeescalateIn, ticket: TicketForChange, session: SessionDep, actor: CurrentActor
) -> TicketOut:
    """Leads only: move the ticket down (default: one tier), with a reason."""
    return await _out(
        session, await tickets.deescalate(session, ticket, actor, reason=body.reason, to_tier=body.to_tier)
    )


@api.post("/{ticket_id}/resolve", response_model=TicketOut, dependencies=JsonBody, responses=CHANGE)
async def resolve(body: ResolveIn, ticket: TicketForChange, session: SessionDep, actor: CurrentActor) -> TicketOut:
    return await _out(session, await tickets.resolve(session, ticket, actor, resolution=body.resolution))


@api.post("/{ticket_id}/reopen", response_model=TicketOut, dependencies=JsonBody, responses=CHANGE)
async def reopen(body: ReopenIn, ticket: TicketForChange, session: SessionDep, actor: CurrentActor) -> TicketOut:
    """Put a resolved ticket back in its tier's queue."""
    return await _out(session, await tickets.reopen(session, ticket, actor, reason=body.reason))


@api.post("/{ticket_id}/wait", response_model=TicketOut, dependencies=JsonBody, responses=CHANGE)
async def wait_on_customer(
    body: WaitIn, ticket: TicketForChange, session: SessionDep, actor: CurrentActor
) -> TicketOut:
    """Wait for the requester's answer: the ticket leaves the queue until they reply."""
    return await _out(session, await tickets.wait_on_customer(session, ticket, actor, reason=body.reason))


@api.post("/{ticket_id}/messages", response_model=MessageOut, status_code=201, dependencies=JsonBody, responses=CHANGE)
async def add_message(body: MessageIn, ticket: TicketForChange, session: SessionDep, actor: CurrentActor) -> MessageOut:
    """A reply to the requester (``internal: false``) or an internal note."""
    message = await messages.add_message(session, ticket, actor, body=body.body, internal=body.internal)
    await session.flush()
    return MessageOut.model_validate(message, from_attributes=True)
