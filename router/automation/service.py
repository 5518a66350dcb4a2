"""Acknowledge the requester when a ticket lands in a tier (tier 0 adds self-service pointers)."""

from __future__ import annotations

from jinja2 import Environment
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit.chain import state_of
from router.models.columns import utcnow
from router.models.customers import Customer
from router.models.tickets import Message, Ticket
from router.settings import Settings
from router.tickets import messages
from router.tickets import service as tickets
from router.tickets.messages import AutomationResult

TEMPLATE = "messages/acknowledgement.txt"
KIND = "acknowledgement"
#: The most tickets one batched automation job handles in its transaction.
BATCH_LIMIT = 1000


async def _why_quiet(session: AsyncSession, ticket: Ticket, settings: Settings) -> str | None:
    """Automatic replies stay quiet for mail that asked for it, and past a daily cap per address."""
    if ticket.auto_reply_suppressed:
        return "the requester's mail asked for no automatic replies"
    start_of_day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    sent_today = (
        await session.exec(
            select(func.count())
            .select_from(Message)
            .join(Ticket, Ticket.id == Message.ticket_id)  # type: ignore[arg-type]
            .where(
                Ticket.requester_email == ticket.requester_email,
                Message.kind == KIND,
                col(Message.created_at) >= start_of_day,
            )
        )
    ).one()
    if int(sent_today) >= settings.auto_replies_per_address_per_day:
        return f"{ticket.requester_email} already had {sent_today} automatic replies today"
    return None


async def run(session: AsyncSession, ticket_id: int, tier: int, *, templates: Environment, settings: Settings) -> bool:
    """Render and record the acknowledgement; a duplicate job (same ticket and tier) does nothing."""
    ticket = await tickets.get(session, ticket_id, lock=True)
    if ticket.automation_tier != tier:
        return False
    quiet = await _why_quiet(session, ticket, settings)
    if quiet is not None:
        return await messages.skip_automation(session, ticket, tier=tier, reason=quiet)
    customer = await session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    body = templates.get_template(TEMPLATE).render(
        ticket=ticket,
        tier=tier,
        tier_name=settings.support_tier_names[tier],
        customer=customer,
    )
    return await messages.record_automation(session, ticket, tier=tier, kind=KIND, body=body)


async def run_batch(
    session: AsyncSession,
    tier: int,
    *,
    templates: Environment,
    settings: Settings,
    up_to: int | None = None,
    limit: int = BATCH_LIMIT,
) -> tuple[int, int]:
    """``run`` for the tickets waiting for ``tier``'s automation, oldest first, at most ``limit`` (and none
    after ticket ``up_to``), in a few statements whatever their number: the tickets locked in one query
    (skipping those another job holds), the day's automatic replies counted per address in one, the
    messages and audit events written in one statement each. Returns (acknowledged, tickets taken): a
    caller that took ``limit`` runs it again. A ticket already done is not waiting any more (a repeat).
    """
    query = select(Ticket).where(Ticket.automation_tier == tier)
    if up_to is not None:
        query = query.where(col(Ticket.id) <= up_to)
    tickets_ = (await session.exec(query.order_by(col(Ticket.id)).limit(limit).with_for_update(skip_locked=True))).all()
    if not tickets_:
        return 0, 0
    start_of_day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    addresses = sorted({t.requester_email for t in tickets_})
    sent_today = dict(
        (
            await session.exec(
                select(Ticket.requester_email, func.count())
                .select_from(Message)
                .join(Ticket, Ticket.id == Message.ticket_id)  # type: ignore[arg-type]
                .where(
                    col(Ticket.requester_email).in_(addresses),
                    Message.kind == KIND,
                    col(Message.created_at) >= start_of_day,
                )
                .group_by(col(Ticket.requester_email))
            )
        ).all()
    )
    customer_ids = {t.customer_id for t in tickets_ if t.customer_id is not None}
    customers = {
        c.id: c for c in (await session.exec(select(Customer).where(col(Customer.id).in_(customer_ids)))).all()
    }
    template = templates.get_template(TEMPLATE)
    results = []
    for ticket in tickets_:
        assert ticket.id is not None
        head = (ticket.id, ticket.audit_seq, ticket.audit_head, state_of(ticket))
        sent = int(sent_today.get(ticket.requester_email, 0))
        if ticket.auto_reply_suppressed:
            results.append(AutomationResult(*head, quiet_reason="the requester's mail asked for no automatic replies"))
            continue
        if sent >= settings.auto_replies_per_address_per_day:
            reason = f"{ticket.requester_email} already had {sent} automatic replies today"
            results.append(AutomationResult(*head, quiet_reason=reason))
            continue
        sent_today[ticket.requester_email] = sent + 1
        customer = customers.get(ticket.customer_id) if ticket.customer_id else None
        body = template.render(ticket=ticket, tier=tier, tier_name=settings.support_tier_names[tier], customer=customer)
        results.append(AutomationResult(*head, body=body))
    # The ORM objects were only read: the rows are written below, by statement.
    for ticket in tickets_:
        session.expunge(ticket)
    await messages.record_automation_batch(session, tier=tier, kind=KIND, results=results)
    return sum(1 for r in results if r.body is not None), len(results)
