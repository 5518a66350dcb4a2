"""Turn an incoming request into a ticket exactly once per (source, delivery id)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import service as customers
from router.effects import EffectSink
from router.models.intake import Delivery
from router.models.tickets import Ticket
from router.tickets import service as tickets
from router.tickets.inputs import MailDetails, TicketContext
from router.unit_of_work import rollback


@dataclass(frozen=True)
class IntakeResult:
    ticket: Ticket
    created: bool


async def _existing(session: AsyncSession, source: str, delivery_id: str) -> Ticket | None:
    row = (
        await session.exec(
            select(Ticket)
            .join(Delivery, Delivery.ticket_id == Ticket.id)  # type: ignore[arg-type]
            .where(Delivery.source == source, Delivery.delivery_id == delivery_id)
        )
    ).first()
    return row


async def submit(
    session: AsyncSession,
    sink: EffectSink,
    *,
    source: str,
    delivery_id: str | None,
    subject: str,
    body: str,
    requester_email: str,
    customer_ref: str | None,
    priority_hint: str | None,
    channel: str,
    default_customer_tier: int,
    actor: tickets.Actor,
    context: TicketContext | None = None,
    mail: MailDetails | None = None,
) -> IntakeResult:
    """Open a ticket, or return the one this delivery already made.

    Two copies racing past the first look-up meet at the ledger's unique key: the loser rolls back its
    whole transaction (ticket included) and answers with the winner's ticket.
    """
    if delivery_id is not None:
        found = await _existing(session, source, delivery_id)
        if found is not None:
            return IntakeResult(found, created=False)
    customer = await customers.find_for_requester(session, requester_email, customer_ref)
    ticket = await tickets.open_ticket(
        session,
        subject=subject,
        body=body,
        requester_email=requester_email.lower(),
        customer_id=customer.id if customer else None,
        customer_tier=customer.value_tier if customer else default_customer_tier,
        priority_hint=priority_hint,
        channel=channel,
        source=source,
        external_id=delivery_id,
        actor=actor,
        context=context or TicketContext(),
        mail=mail,
    )
    if delivery_id is None:
        return IntakeResult(ticket, created=True)
    assert ticket.id is not None
    session.add(Delivery(source=source, delivery_id=delivery_id, ticket_id=ticket.id))
    try:
        await session.flush()
    except IntegrityError:
        await rollback(session, sink)
        found = await _existing(session, source, delivery_id)
        if found is None:  # the winner rolled back too; the sender will retry
            raise
        return IntakeResult(found, created=False)
    return IntakeResult(ticket, created=True)
