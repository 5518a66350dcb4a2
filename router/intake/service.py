"""Turn an incoming request into a ticket exactly once per (source, delivery id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import service as customers
from router.effects import EffectSink
from router.models.intake import Delivery
from router.models.tickets import Ticket
from router.routing import service as routing
from router.tickets import service as tickets
from router.tickets.inputs import MailDetails, TicketContext
from router.unit_of_work import rollback
from rules import Rulebook

T = TypeVar("T")


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
    rulebook: Rulebook | None = None,
) -> IntakeResult:
    """Open a ticket, or return the one this delivery already made.

    Two copies racing past the first look-up meet at the ledger's unique key: the loser rolls back its
    whole transaction (ticket included) and answers with the winner's ticket. With a ``rulebook`` the new
    ticket is routed in this transaction, once the ledger has it (so a loser never records queue effects).
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
        route_after_commit=rulebook is None,
    )
    if delivery_id is not None:
        assert ticket.id is not None
        row = Delivery(source=source, delivery_id=delivery_id, ticket_id=ticket.id)
        winner = await record_once(session, sink, row, lambda: _existing(session, source, delivery_id))
        if winner is not None:
            return IntakeResult(winner, created=False)
    if rulebook is not None:
        await routing.route_opened(session, ticket, rulebook)
    return IntakeResult(ticket, created=True)


async def record_once(
    session: AsyncSession, sink: EffectSink, row: SQLModel, winner: Callable[[], Awaitable[T | None]]
) -> T | None:
    """Write an idempotency ledger row; if a concurrent copy of the same delivery got there first, give way.

    The one exactly-once step of every intake (JSON ``Delivery``, email ``InboundMail``, webhook ``Delivery``):
    the ledger's unique key is where copies that raced past their first look-up meet, on SQLite and on
    PostgreSQL alike.

    :param session: the intake's transaction, holding everything this copy did.
    :param sink: the effect sink, for the undo list when the transaction rolls back.
    :param row: the ledger row (its unique key names the delivery).
    :param winner: reads what the first copy made, afresh after the rollback (the same look-up as the
        intake's first one).
    :returns: ``None`` when the row went in (this copy is the first: carry on); else ``winner()``, after the
        whole transaction was rolled back (this copy's ticket included).
    :raises IntegrityError: when the first copy rolled back too, so there is nothing to answer with; the
        sender retries.
    """
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        await rollback(session, sink)
        found = await winner()
        if found is None:
            raise
        return found
    return None
