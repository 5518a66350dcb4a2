"""Customers: find the one behind a requester, create and re-tier customers with history."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.db import insert_if_absent
from router.errors import Conflict, Invalid
from router.models.columns import utcnow
from router.models.customers import Customer, CustomerContact, CustomerDomain, CustomerTierChange
from rules.vocabulary import CUSTOMER_TIERS, MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].lower()


async def find_by_ref(session: AsyncSession, ref: str) -> Customer | None:
    return (await session.exec(select(Customer).where(Customer.external_ref == ref))).first()


async def find_for_requester(session: AsyncSession, email: str, customer_ref: str | None) -> Customer | None:
    """The customer named by ``customer_ref``, else the one owning the address, else the one owning its domain.

    A sender seen for the first time is remembered as a contact (without a customer if none claims it).
    """
    contact = await session.get(CustomerContact, email.lower())
    if customer_ref is not None:
        customer = await find_by_ref(session, customer_ref)
        if customer is None:
            raise Invalid(f"no customer has the reference {customer_ref!r}", field="customer_ref")
    elif contact is not None and contact.customer_id is not None:
        customer = await session.get(Customer, contact.customer_id)
    else:
        owner = await session.get(CustomerDomain, domain_of(email))
        customer = await session.get(Customer, owner.customer_id) if owner is not None else None
    if contact is None:
        await _note_contact(session, email, customer)
    return customer


async def _note_contact(session: AsyncSession, email: str, customer: Customer | None) -> None:
    await insert_if_absent(
        session,
        CustomerContact,
        {"email": email.lower(), "customer_id": customer.id if customer else None, "first_seen_at": utcnow()},
    )


async def create_customer(
    session: AsyncSession,
    *,
    external_ref: str,
    name: str,
    tier: int,
    domains: Iterable[str] = (),
    contacts: Iterable[str] = (),
    attributes: dict[str, Any] | None = None,
) -> Customer:
    if tier not in CUSTOMER_TIERS:
        raise Invalid(f"customer tier must be {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER}, got {tier}", field="tier")
    if await find_by_ref(session, external_ref) is not None:
        raise Conflict(f"a customer with reference {external_ref!r} exists")
    customer = Customer(
        external_ref=external_ref,
        name=name,
        value_tier=tier,
        onboarding_tier=tier,
        highest_tier=tier,
        attributes=attributes or {},
    )
    session.add(customer)
    await session.flush()
    assert customer.id is not None
    session.add(CustomerTierChange(customer_id=customer.id, from_tier=None, to_tier=tier, reason="onboarding"))
    for domain in domains:
        session.add(CustomerDomain(domain=domain.lower(), customer_id=customer.id))
    for email in contacts:
        session.add(CustomerContact(email=email.lower(), customer_id=customer.id))
    return customer


async def change_tier(session: AsyncSession, customer: Customer, tier: int, reason: str) -> Customer:
    """Move a customer to another value tier; history keeps every step and the best tier reached."""
    if tier not in CUSTOMER_TIERS:
        raise Invalid(f"customer tier must be {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER}, got {tier}", field="tier")
    assert customer.id is not None
    session.add(CustomerTierChange(customer_id=customer.id, from_tier=customer.value_tier, to_tier=tier, reason=reason))
    customer.value_tier = tier
    customer.highest_tier = min(customer.highest_tier, tier)
    return customer
