"""Route a new ticket: build its snapshot, evaluate the rulebook, store the decision."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers.models import Customer
from router.tickets import service as tickets
from router.tickets.models import Direction, Message, Status, Ticket
from rules import Rulebook, Snapshot


async def snapshot_of(session: AsyncSession, ticket: Ticket) -> Snapshot:
    """What the rules may see of a ticket: its first message, requester and customer."""
    first = (
        await session.exec(
            select(Message)
            .where(Message.ticket_id == ticket.id, Message.direction == Direction.inbound)
            .order_by(col(Message.id))
            .limit(1)
        )
    ).first()
    customer = await session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    return Snapshot(
        subject=ticket.subject,
        body=first.body_text if first else "",
        sender=ticket.requester_email,
        customer_tier=ticket.customer_tier,
        channel=ticket.channel,
        priority_hint=ticket.priority_hint,
        customer_ref=customer.external_ref if customer else None,
        attributes=customer.attributes if customer else {},
    )


async def route(session: AsyncSession, ticket_id: int, rulebook: Rulebook) -> bool:
    """Idempotent: a ticket that is no longer ``new`` was routed already and is left alone."""
    ticket = await tickets.get(session, ticket_id, lock=True)
    if ticket.status != Status.new:
        return False
    decision = rulebook.evaluate(await snapshot_of(session, ticket))
    return await tickets.apply_routing(session, ticket, decision)
