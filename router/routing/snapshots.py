"""Copy tickets out of the database into rules snapshots — one at a time for routing, in batches for
simulation (a handful of queries per batch, whatever its size)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.customers import Customer
from router.models.tickets import Attachment, Direction, Message, Ticket
from rules import AttachmentInfo, Snapshot


async def snapshots_for(session: AsyncSession, tickets: Sequence[Ticket]) -> dict[int, Snapshot]:
    ids = [t.id for t in tickets if t.id is not None]
    if not ids:
        return {}
    inbound = (Message.ticket_id, func.min(Message.id), func.count())
    firsts = (
        await session.exec(
            select(*inbound)
            .where(col(Message.ticket_id).in_(ids), Message.direction == Direction.inbound)
            .group_by(col(Message.ticket_id))
        )
    ).all()
    first_ids = {ticket_id: first for ticket_id, first, _ in firsts}
    counts = {ticket_id: n for ticket_id, _, n in firsts}
    bodies = {
        m.ticket_id: m.body_text
        for m in (await session.exec(select(Message).where(col(Message.id).in_(list(first_ids.values()))))).all()
    }
    attachments: dict[int, list[AttachmentInfo]] = defaultdict(list)
    message_ticket = {message_id: ticket_id for ticket_id, message_id in first_ids.items()}
    for a in (
        await session.exec(select(Attachment).where(col(Attachment.message_id).in_(list(first_ids.values()))))
    ).all():
        attachments[message_ticket[a.message_id]].append(AttachmentInfo(a.filename, a.content_type))
    customer_ids = {t.customer_id for t in tickets if t.customer_id is not None}
    customers = {
        c.id: c for c in (await session.exec(select(Customer).where(col(Customer.id).in_(customer_ids)))).all()
    }
    out: dict[int, Snapshot] = {}
    for t in tickets:
        assert t.id is not None
        customer = customers.get(t.customer_id) if t.customer_id is not None else None
        out[t.id] = Snapshot(
            subject=t.subject,
            body=bodies.get(t.id, ""),
            sender=t.requester_email,
            customer_tier=t.customer_tier,
            channel=t.channel,
            source=t.source,
            recipient=t.recipient,
            priority_hint=t.priority_hint,
            customer_ref=customer.external_ref if customer else None,
            attributes=customer.attributes if customer else {},
            product=t.product,
            component=t.component,
            service=t.service,
            tags=tuple(t.tags),
            attachments=tuple(attachments.get(t.id, ())),
            message_count=int(counts.get(t.id, 0)),
            reopen_count=t.reopen_count,
            received_at=t.created_at,
        )
    return out


async def snapshot_of(session: AsyncSession, ticket: Ticket) -> Snapshot:
    """What the rules may see of one ticket."""
    assert ticket.id is not None
    return (await snapshots_for(session, [ticket]))[ticket.id]
