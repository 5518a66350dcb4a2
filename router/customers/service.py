"""Customers: find the one behind a requester, create, edit and re-tier customers with history, their domains
and contacts; every administrative change in the admin log (``router.audit.admin_log``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.addresses import normalized_domain, normalized_email
from router.audit import admin_log
from router.customers import tiering
from router.customers.values import MAX_ATTRIBUTES, checked_attribute
from router.db import flush_unique, insert_ignoring
from router.errors import Conflict, Invalid, NotFound
from router.models.agents import Agent
from router.models.columns import text_length, utcnow
from router.models.customers import Customer, CustomerContact, CustomerDomain, CustomerTierChange, TierSource
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
    by: Agent | None = None,
    source: str | None = None,
) -> Customer:
    """A new customer; ``by`` is the lead or admin adding it (None: the command line or an import). Its tier
    history starts with the onboarding step, from ``source`` (default: ``manual`` for a person, else ``import``)."""
    if tier not in CUSTOMER_TIERS:
        raise Invalid(f"customer tier must be {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER}, got {tier}", field="tier")
    if await find_by_ref(session, external_ref) is not None:
        raise Conflict(f"a customer with reference {external_ref!r} exists", field="external_ref")
    given = {name: checked_attribute(name, value) for name, value in (attributes or {}).items()}
    if len(given) > MAX_ATTRIBUTES:
        raise Invalid(f"a customer has at most {MAX_ATTRIBUTES} attributes, got {len(given)}", field="attributes")
    customer = Customer(
        external_ref=external_ref,
        name=name,
        value_tier=tier,
        onboarding_tier=tier,
        highest_tier=tier,
        attributes={name: value for name, value in given.items() if value is not None},
    )
    session.add(customer)
    await flush_unique(session, Conflict(f"a customer with reference {external_ref!r} exists", field="external_ref"))
    assert customer.id is not None
    onboarding = CustomerTierChange(
        customer_id=customer.id,
        from_tier=None,
        to_tier=tier,
        reason="onboarding",
        source=source or (TierSource.manual if by is not None else TierSource.imported),
        actor=admin_log.actor_name(by),
    )
    session.add(onboarding)
    for domain in sorted({d.lower() for d in domains}):
        if await session.get(CustomerDomain, domain) is not None:
            raise Conflict(f"domain {domain} belongs to another customer", field="domains")
        session.add(CustomerDomain(domain=domain, customer_id=customer.id))
    for email in sorted({e.lower() for e in contacts}):
        await _claim_contact(session, email, customer.id)
    admin_log.record(session, by, "customer.added", subject(customer), external_ref=external_ref, tier=tier)
    return customer


def subject(customer: Customer) -> str:
    assert customer.id is not None
    return admin_log.customer_subject(customer.id)


async def _claim_contact(session: AsyncSession, email: str, customer_id: int) -> None:
    """Make ``email`` the customer's contact: a new one, or one seen in mail before that no customer holds."""
    contact = await session.get(CustomerContact, email)
    if contact is None:
        session.add(CustomerContact(email=email, customer_id=customer_id))
    elif contact.customer_id is None:
        contact.customer_id = customer_id
    elif contact.customer_id != customer_id:
        owner = await session.get(Customer, contact.customer_id)
        held_by = f"{owner.name} ({owner.external_ref})" if owner is not None else f"customer {contact.customer_id}"
        raise Conflict(f"contact {email} belongs to another customer: {held_by}", field="contacts")


# ------------------------------------------------------------------------------------ administration
async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"there is no customer {customer_id}")
    return customer


def _checked_text(value: str, field: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise Invalid(f"a customer needs {what}", field=field)
    if len(value) > (limit := text_length(Customer, field)):
        raise Invalid(f"{what} has at most {limit} characters, got {len(value)}", field=field)
    return value


async def edit_customer(
    session: AsyncSession,
    by: Agent | None,
    customer: Customer,
    *,
    name: str | None = None,
    external_ref: str | None = None,
    tier: int | None = None,
    reason: str = "",
    attributes: Mapping[str, Any] | None = None,
    source: str = TierSource.manual,
    account_owner_id: int | None = None,
) -> Customer:
    """Rename, give another reference (unique), change attributes (``None`` removes one), name the account
    owner (an active agent; ``0`` removes them: push assignment offers them the customer's tickets first) or
    move to another value tier (kept in its tier history with ``source``)."""
    before = {
        "name": customer.name,
        "external_ref": customer.external_ref,
        "account_owner_id": customer.account_owner_id,
    }
    if account_owner_id is not None:
        customer.account_owner_id = await _checked_owner(session, account_owner_id)
    if name is not None:
        customer.name = _checked_text(name, "name", "a name")
    if external_ref is not None:
        ref = _checked_text(external_ref, "external_ref", "a reference")
        if ref != customer.external_ref and await find_by_ref(session, ref) is not None:
            raise Conflict(f"another customer has the reference {ref!r}", field="external_ref")
        customer.external_ref = ref
        await flush_unique(session, Conflict(f"another customer has the reference {ref!r}", field="external_ref"))
    after = {
        "name": customer.name,
        "external_ref": customer.external_ref,
        "account_owner_id": customer.account_owner_id,
    }
    changed = admin_log.changes(before, after)
    if attributes:  # logged as ``attributes.<name>: [before, after]``, like the other fields
        changed |= {f"attributes.{name}": pair for name, pair in _changed_attributes(customer, attributes).items()}
    if changed:
        admin_log.record(session, by, "customer.changed", subject(customer), **changed)
    if tier is not None and tier != customer.value_tier:
        default = "imported" if source == TierSource.imported else "changed by hand"
        await tiering.retier(session, customer, tier, reason=reason.strip() or default, by=by, source=source)
    return customer


def _fields(customer: Customer) -> dict[str, Any]:
    return {"name": customer.name, "external_ref": customer.external_ref, "account_owner_id": customer.account_owner_id}


async def _checked_owner(session: AsyncSession, agent_id: int) -> int | None:
    if agent_id == 0:
        return None
    owner = await session.get(Agent, agent_id)
    if owner is None or not owner.active:
        raise Invalid(f"there is no active agent {agent_id} to own the account", field="account_owner_id")
    return agent_id


def _same(a: Any, b: Any) -> bool:
    """Equal and of one type (``True == 1`` in Python, not in a customer's attributes)."""
    return a == b and type(a) is type(b)


def _changed_attributes(customer: Customer, wanted: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Merge ``wanted`` into the customer's attributes (``None`` removes one); ``{name: [before, after]}`` of
    those that changed. A new dict, so that the JSON column sees the change."""
    merged = dict(customer.attributes)
    for name, value in wanted.items():
        checked = checked_attribute(name, value)
        if checked is None:
            merged.pop(name, None)
        else:
            merged[name] = checked
    if len(merged) > MAX_ATTRIBUTES:
        raise Invalid(f"a customer has at most {MAX_ATTRIBUTES} attributes, this would make {len(merged)}")
    found = {
        name: [customer.attributes.get(name), merged.get(name)]
        for name in sorted(set(wanted))
        if not _same(customer.attributes.get(name), merged.get(name))
    }
    if found:
        customer.attributes = merged
    return found


async def add_domain(session: AsyncSession, by: Agent | None, customer: Customer, domain: str) -> str:
    """Senders from ``domain`` belong to the customer from now on; a domain has one customer."""
    assert customer.id is not None
    domain = normalized_domain(domain)
    held = await session.get(CustomerDomain, domain)
    if held is not None:
        if held.customer_id == customer.id:
            return domain
        owner = await session.get(Customer, held.customer_id)
        held_by = f"{owner.name} ({owner.external_ref})" if owner is not None else f"customer {held.customer_id}"
        raise Conflict(f"domain {domain} belongs to another customer: {held_by}", field="domain")
    session.add(CustomerDomain(domain=domain, customer_id=customer.id))
    await flush_unique(session, Conflict(f"domain {domain} was just given to another customer", field="domain"))
    admin_log.record(session, by, "customer.domain_added", subject(customer), domain=domain)
    return domain


async def remove_domain(session: AsyncSession, by: Agent | None, customer: Customer, domain: str) -> None:
    held = await session.get(CustomerDomain, domain.strip().lower())
    if held is None or held.customer_id != customer.id:
        raise NotFound(f"customer {customer.external_ref} has no domain {domain!r}")
    await session.delete(held)
    admin_log.record(session, by, "customer.domain_removed", subject(customer), domain=held.domain)


async def add_contact(session: AsyncSession, by: Agent | None, customer: Customer, email: str) -> str:
    """A person of the customer (one seen in mail that no customer holds is taken over)."""
    assert customer.id is not None
    email = normalized_email(email)
    held = await session.get(CustomerContact, email)
    if held is not None and held.customer_id == customer.id:
        return email
    await _claim_contact(session, email, customer.id)
    admin_log.record(session, by, "customer.contact_added", subject(customer), email=email)
    return email


async def remove_contact(session: AsyncSession, by: Agent | None, customer: Customer, email: str) -> None:
    """The person is no longer the customer's (they stay known, held by no customer, like a new sender)."""
    held = await session.get(CustomerContact, email.strip().lower())
    if held is None or held.customer_id != customer.id:
        raise NotFound(f"customer {customer.external_ref} has no contact {email!r}")
    held.customer_id = None
    admin_log.record(session, by, "customer.contact_removed", subject(customer), email=held.email)


async def add_customer(
    session: AsyncSession,
    by: Agent | None,
    *,
    external_ref: str,
    name: str,
    tier: int,
    domains: Iterable[str] = (),
    contacts: Iterable[str] = (),
) -> Customer:
    """A new customer from a person's input: text checked, domains and addresses checked and normalized."""
    return await create_customer(
        session,
        external_ref=_checked_text(external_ref, "external_ref", "a reference"),
        name=_checked_text(name, "name", "a name"),
        tier=tier,
        domains=[normalized_domain(d, field="domains") for d in domains if d.strip()],
        contacts=[normalized_email(e, field="contacts") for e in contacts if e.strip()],
        by=by,
    )
