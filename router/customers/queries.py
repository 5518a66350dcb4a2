"""Read-only customer queries: the agent UI's customer card, the administration's list and detail.

The list is ordered by name (any case) then id, and pages by a keyset cursor naming the last row's pair, as
the ticket list does (``router/tickets/listing.py``): every page is one range of the index on
``(lower(name), id)``, and a customer added meanwhile neither shifts nor repeats a row.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import col, exists, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.bounds import MAX_ROW_ID
from router.customers import metrics
from router.errors import Invalid
from router.models.customers import Customer, CustomerContact, CustomerDomain, CustomerMetric, CustomerTierChange


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
    #: Where the next page starts; None on the last page.
    next_cursor: str | None = None


_BAD_CURSOR = "cursor is not one this API gave out (take next_cursor from the previous page)"


def encode_cursor(lowered_name: str, customer_id: int) -> str:
    """The cursor after a row: its ``lower(name)`` as the database computed it (SQLite lowers ASCII only,
    PostgreSQL by its locale: Python's ``str.lower`` would agree with neither) and its id."""
    text = json.dumps([lowered_name, customer_id], ensure_ascii=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    """The ``(lower(name), id)`` a cursor from ``encode_cursor`` names; anything else is a 422."""
    try:
        found: Any = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        found = None
    if not (
        isinstance(found, list)
        and len(found) == 2
        and isinstance(found[0], str)
        and type(found[1]) is int
        and 1 <= found[1] <= MAX_ROW_ID
    ):
        raise Invalid(_BAD_CURSOR, field="cursor")
    return found[0], found[1]


def _like(text: str) -> str:
    """A ``LIKE`` pattern for ``text`` anywhere, its own ``%`` and ``_`` taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(
    session: AsyncSession,
    q: str = "",
    *,
    tier: int | None = None,
    offset: int = 0,
    limit: int = 50,
    cursor: str | None = None,
) -> CustomerList:
    """Customers whose name, reference, one of their domains or contacts contains ``q`` (any case), by name;
    a page of ``limit`` after ``cursor`` (a previous page's ``next_cursor``) and ``offset``."""
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
    lowered = func.lower(col(Customer.name))
    if cursor is not None:
        where.append(tuple_(lowered, col(Customer.id)) > tuple_(*decode_cursor(cursor)))
    rows = await session.exec(
        select(Customer, lowered).where(*where).order_by(lowered, col(Customer.id)).offset(offset).limit(limit + 1)
    )
    found = list(rows.all())
    more = len(found) > limit
    found = found[:limit]
    last = found[-1] if more and found else None
    next_cursor = encode_cursor(last[1], last[0].id) if last is not None and last[0].id is not None else None
    return CustomerList([c for c, _ in found], total, next_cursor)


@dataclass(frozen=True)
class CustomerDetail:
    card: CustomerCard
    domains: list[str]
    contacts: list[str]
    #: Each metric's newest figure from each source.
    metrics: list[CustomerMetric]


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
    latest = await metrics.latest(session, customer_id)
    return CustomerDetail(found, list(domains.all()), list(contacts.all()), latest)
