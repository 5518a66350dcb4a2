"""Acknowledge the requester when a ticket lands in a tier (tier 0 adds self-service pointers)."""

from __future__ import annotations

from jinja2 import Environment
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers.models import Customer
from router.settings import Settings
from router.tickets import service as tickets

TEMPLATE = "messages/acknowledgement.txt"


async def run(session: AsyncSession, ticket_id: int, tier: int, *, templates: Environment, settings: Settings) -> bool:
    """Render and record the acknowledgement; a duplicate job (same ticket and tier) does nothing."""
    ticket = await tickets.get(session, ticket_id, lock=True)
    if ticket.automation_tier != tier:
        return False
    customer = await session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    body = templates.get_template(TEMPLATE).render(
        ticket=ticket,
        tier=tier,
        tier_name=settings.support_tier_names[tier],
        customer=customer,
    )
    return await tickets.record_automation(session, ticket, tier=tier, kind="acknowledgement", body=body)
