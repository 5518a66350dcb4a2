"""Read-only ticket queries for the API (changes go through ``service.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.errors import NotFound
from router.models.columns import utcnow
from router.models.tickets import Attachment, Direction, MailStatus, Message, Status, Ticket
from router.sla.queries import sla_of
from router.tickets.listing import PageRequest, TicketPage
from router.tickets.schemas import AttachmentOut, MessageOut, TicketList, TicketOut


async def ticket_views(session: AsyncSession, tickets: list[Ticket]) -> list[TicketOut]:
    """Ticket JSON with each ticket's ``sla`` object (clocks loaded in one query)."""
    slas = await sla_of(session, [t.id for t in tickets if t.id is not None], utcnow())
    return [
        TicketOut.model_validate(t, from_attributes=True).model_copy(update={"sla": slas.get(t.id or 0)})
        for t in tickets
    ]


async def ticket_view(session: AsyncSession, ticket: Ticket) -> TicketOut:
    await session.flush()
    return (await ticket_views(session, [ticket]))[0]


async def messages(session: AsyncSession, ticket_id: int) -> list[Message]:
    rows = await session.exec(select(Message).where(Message.ticket_id == ticket_id).order_by(col(Message.id)))
    return list(rows.all())


async def queued_in_tier(
    session: AsyncSession, tier: int, *, queued_since: datetime | None = None
) -> list[tuple[int, str, int, datetime]]:
    """``(id, priority, customer_tier, created_at)`` of every ticket waiting in ``tier`` (for reconcile)."""
    query = select(Ticket.id, Ticket.priority, Ticket.customer_tier, Ticket.created_at).where(
        Ticket.status == Status.queued,
        Ticket.support_tier == tier,
        col(Ticket.assignee_id).is_(None),  # an offered ticket (push assignment) waits outside the queue
    )
    if queued_since is not None:
        query = query.where(col(Ticket.queued_at) >= queued_since)
    rows = await session.exec(query)
    return [(int(i), p, c, t) for i, p, c, t in rows.all() if i is not None]


async def unrouted(session: AsyncSession, *, created_before: datetime | None = None) -> list[int]:
    """Tickets still waiting for their routing job."""
    query = select(Ticket.id).where(Ticket.status == Status.new)
    if created_before is not None:
        query = query.where(col(Ticket.created_at) < created_before)
    return [int(i) for i in (await session.exec(query)).all() if i is not None]


async def automation_pending(session: AsyncSession, *, updated_before: datetime | None = None) -> list[tuple[int, int]]:
    """``(ticket id, tier)`` whose tier automation has not run yet."""
    query = select(Ticket.id, Ticket.automation_tier).where(col(Ticket.automation_tier).is_not(None))
    if updated_before is not None:
        query = query.where(col(Ticket.updated_at) < updated_before)
    return [(int(i), int(t)) for i, t in (await session.exec(query)).all() if i is not None and t is not None]


async def pending_outbound(session: AsyncSession, *, created_before: datetime | None = None) -> list[int]:
    """Outbound messages the mailer has not sent yet."""
    query = select(Message.id).where(
        Message.direction == Direction.outbound, Message.delivery_status == MailStatus.pending
    )
    if created_before is not None:
        query = query.where(col(Message.created_at) < created_before)
    return [int(i) for i in (await session.exec(query)).all() if i is not None]


async def message_views(session: AsyncSession, found: list[Message]) -> list[MessageOut]:
    """Message JSON with each message's attachments (loaded in one query)."""
    ids = [m.id for m in found if m.id is not None]
    files: dict[int, list[AttachmentOut]] = {}
    if ids:
        rows = await session.exec(
            select(Attachment).where(col(Attachment.message_id).in_(ids)).order_by(col(Attachment.id))
        )
        for a in rows.all():
            files.setdefault(a.message_id, []).append(AttachmentOut.model_validate(a, from_attributes=True))
    return [
        MessageOut.model_validate(m, from_attributes=True).model_copy(update={"attachments": files.get(m.id or 0, [])})
        for m in found
    ]


async def attachment_of(session: AsyncSession, ticket: Ticket, attachment_id: int) -> Attachment:
    """An attachment of one of this ticket's messages (404 for any other, so ids reveal nothing)."""
    row = (
        await session.exec(
            select(Attachment)
            .join(Message, col(Message.id) == col(Attachment.message_id))
            .where(Attachment.id == attachment_id, Message.ticket_id == ticket.id)
        )
    ).first()
    if row is None:
        raise NotFound(f"ticket {ticket.ref} has no attachment {attachment_id}")
    return row


async def ticket_list(session: AsyncSession, found: TicketPage, page: PageRequest) -> TicketList:
    """A page of the ticket list as the API answers it."""
    return TicketList(
        items=await ticket_views(session, found.tickets),
        total=found.total,
        total_capped=found.total_capped,
        offset=page.offset,
        limit=page.limit,
        next_cursor=found.next_cursor,
    )
