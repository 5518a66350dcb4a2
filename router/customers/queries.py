"""Read-only customer queries (for the agent UI's customer card)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.customers import Customer, CustomerTierChange


@dataclass(frozen=True)
class CustomerCard:
    customer: Customer
    #: Oldest first; the first step is onboarding.
    history: list[CustomerTierChange]


async def card(session: AsyncSession, customer_id: int | None) -> CustomerCard | None:
    """The customer and their value-tier history, or None for a requester no customer claims."""
    if customer_id is None:
        return None
    customer = await session.get(Customer, customer_id)
    if customer is None:
        return None
    rows = await session.exec(
        select(CustomerTierChange)
        .where(CustomerTierChange.customer_id == customer_id)
        .order_by(col(CustomerTierChange.at), col(CustomerTierChange.id))
    )
    return CustomerCard(customer, list(rows.all()))
