"""Acknowledge the requester when a ticket lands in a tier (tier 0 adds self-service pointers)."""

from __future__ import annotations

from jinja2 import Environment
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.columns import utcnow
from router.models.customers import Customer
from router.models.tickets import Message, Ticket
from router.settings import Settings
from router.tickets import messages
from router.tickets import service as tickets

TEMPLATE = "messages/acknowledgement.txt"
KIND = "acknowledgement"


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
