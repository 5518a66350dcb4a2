"""Customers: find the one behind a requester, create and re-tier customers with history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.db import insert_ignoring
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
    [found] = await find_for_requesters(session, [(email, customer_ref)])
    if isinstance(found, Invalid):
        raise found
    return found


async def find_for_requesters(
    session: AsyncSession, wanted: Sequence[tuple[str, str | None]]
) -> list[Customer | Invalid | None]:
    """``find_for_requester`` for a batch of ``(email, customer_ref)`` in four statements, whatever its size;
    an unknown reference is that entry's ``Invalid`` (the others go on)."""
    emails = sorted({email.lower() for email, _ in wanted})
    refs = sorted({ref for _, ref in wanted if ref is not None})
    contacts = {
        c.email: c.customer_id
        for c in (await session.exec(select(CustomerContact).where(col(CustomerContact.email).in_(emails)))).all()
    }
    by_ref = {}
    if refs:
        by_ref = {
            c.external_ref: c
            for c in (await session.exec(select(Customer).where(col(Customer.external_ref).in_(refs)))).all()
        }
    domains = sorted({domain_of(e) for e in emails if contacts.get(e) is None})
    owners = {
        d.domain: d.customer_id
        for d in (await session.exec(select(CustomerDomain).where(col(CustomerDomain.domain).in_(domains)))).all()
    }
    ids = {i for i in [*contacts.values(), *owners.values()] if i is not None} - {c.id for c in by_ref.values()}
    by_id: dict[int | None, Customer] = {c.id: c for c in by_ref.values()}
    if ids:
        by_id |= {c.id: c for c in (await session.exec(select(Customer).where(col(Customer.id).in_(ids)))).all()}
    found: list[Customer | Invalid | None] = []
    first_seen: dict[str, int | None] = {}
    for email, ref in wanted:
        email = email.lower()
        customer: Customer | None
        if ref is not None:
            if ref not in by_ref:
                found.append(Invalid(f"no customer has the reference {ref!r}", field="customer_ref"))
                continue
            customer = by_ref[ref]
        elif contacts.get(email) is not None:
            customer = by_id.get(contacts[email])
        else:
            owner = owners.get(domain_of(email))
            customer = by_id.get(owner) if owner is not None else None
        if email not in contacts:
            first_seen.setdefault(email, customer.id if customer else None)
        found.append(customer)
    if first_seen:
        now = utcnow()
        rows = [{"email": e, "customer_id": c, "first_seen_at": now} for e, c in sorted(first_seen.items())]
        await insert_ignoring(session, CustomerContact, rows)
    return found


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
    for domain in sorted({d.lower() for d in domains}):
        if await session.get(CustomerDomain, domain) is not None:
            raise Conflict(f"domain {domain} belongs to another customer", field="domains")
        session.add(CustomerDomain(domain=domain, customer_id=customer.id))
    for email in sorted({e.lower() for e in contacts}):
        await _claim_contact(session, email, customer.id)
    return customer


async def _claim_contact(session: AsyncSession, email: str, customer_id: int) -> None:
    """Make ``email`` the customer's contact: a new one, or one seen in mail before that no customer holds."""
    contact = await session.get(CustomerContact, email)
    if contact is None:
        session.add(CustomerContact(email=email, customer_id=customer_id))
    elif contact.customer_id is None:
        contact.customer_id = customer_id
    elif contact.customer_id != customer_id:
        raise Conflict(f"contact {email} belongs to another customer", field="contacts")


async def change_tier(session: AsyncSession, customer: Customer, tier: int, reason: str) -> Customer:
    """Move a customer to another value tier; history keeps every step and the best tier reached."""
    if tier not in CUSTOMER_TIERS:
        raise Invalid(f"customer tier must be {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER}, got {tier}", field="tier")
    assert customer.id is not None
    session.add(CustomerTierChange(customer_id=customer.id, from_tier=customer.value_tier, to_tier=tier, reason=reason))
    customer.value_tier = tier
    customer.highest_tier = min(customer.highest_tier, tier)
    return customer
