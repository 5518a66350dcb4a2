"""Read-only customer queries: the agent UI's customer card, the administration's list and detail."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, exists, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.customers import Customer, CustomerContact, CustomerDomain, CustomerTierChange


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


@dataclass(frozen=True)
class CustomerList:
    customers: list[Customer]
    total: int


def _like(text: str) -> str:
    """A ``LIKE`` pattern for ``text`` anywhere, its own ``%`` and ``_`` taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(
    session: AsyncSession, q: str = "", *, tier: int | None = None, offset: int = 0, limit: int = 50
) -> CustomerList:
    """Customers whose name, reference, one of their domains or contacts contains ``q`` (any case), by name."""
    where = []
    if q.strip():
        pattern = _like(q.strip())
        where.append(
            or_(
                func.lower(col(Customer.name)).like(pattern, escape="\\"),
                func.lower(col(Customer.external_ref)).like(pattern, escape="\\"),
                exists().where(
                    col(CustomerDomain.customer_id) == col(Customer.id),
                    col(CustomerDomain.domain).like(pattern, escape="\\"),
                ),
                exists().where(
                    col(CustomerContact.customer_id) == col(Customer.id),
                    col(CustomerContact.email).like(pattern, escape="\\"),
                ),
            )
        )
    if tier is not None:
        where.append(col(Customer.value_tier) == tier)
    total = (await session.exec(select(func.count()).select_from(Customer).where(*where))).one()
    rows = await session.exec(
        select(Customer)
        .where(*where)
        .order_by(func.lower(col(Customer.name)), col(Customer.id))
        .offset(offset)
        .limit(limit)
    )
    return CustomerList(list(rows.all()), total)


@dataclass(frozen=True)
class CustomerDetail:
    card: CustomerCard
    domains: list[str]
    contacts: list[str]


async def detail(session: AsyncSession, customer_id: int) -> CustomerDetail | None:
    found = await card(session, customer_id)
    if found is None:
        return None
    domains = await session.exec(
        select(CustomerDomain.domain)
        .where(CustomerDomain.customer_id == customer_id)
        .order_by(col(CustomerDomain.domain))
    )
    contacts = await session.exec(
        select(CustomerContact.email)
        .where(CustomerContact.customer_id == customer_id)
        .order_by(col(CustomerContact.email))
    )
    return CustomerDetail(found, list(domains.all()), list(contacts.all()))
