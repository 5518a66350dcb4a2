"""A checked customers file (``import_file``) against the database, then written: a reference, domain or
contact another customer already holds is a located problem, reported with the file's own problems, and
nothing is written unless there is none. The caller's transaction holds the check and the writes together.

With ``upsert`` a row whose reference exists updates that customer instead of being a conflict: a new name,
a new tier (through ``service.change_tier``, in the tier history with source ``import``), its attributes
merged, its domains and contacts added (none removed). Metrics are recorded idempotently (``metrics``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import metrics
from router.customers import service as customers
from router.customers.import_file import CheckedFile, Claim, CustomerRow, Located, Refused
from router.customers.metrics import Figure, Recorded
from router.models.customers import Customer, CustomerContact, CustomerDomain, TierSource

#: Values per ``IN (...)``: well under SQLite's and PostgreSQL's limits on bound parameters.
_CHUNK = 1000


@dataclass(frozen=True)
class Imported:
    """What an import did: customers added, existing ones updated (upsert), and the metrics' fate."""

    created: int
    updated: int
    metrics: Recorded


async def import_rows(session: AsyncSession, source: str, checked: CheckedFile, *, upsert: bool = False) -> Imported:
    """Create (or, with ``upsert``, update) a customer per row and record its metrics; ``Refused``, with every
    problem of the file and the database in line order, and nothing written, if there is any."""
    refs = sorted({c.value for c in checked.claims if c.kind == "reference"})
    existing = await _customers_by_ref(session, refs) if upsert else {}
    problems = checked.problems + await conflicts(session, source, checked.claims, existing if upsert else None)
    if problems:
        raise Refused(problems)
    figures: list[tuple[Customer, Figure]] = []
    updated = 0
    for row in checked.rows:
        customer = existing.get(row.external_ref)
        if customer is None:
            assert row.name is not None and row.tier is not None  # checked by ``conflicts``
            customer = await customers.create_customer(
                session,
                external_ref=row.external_ref,
                name=row.name,
                tier=row.tier,
                domains=row.domains,
                contacts=row.contacts,
                attributes=row.attributes,
            )
        else:
            await _update(session, source, customer, row)
            updated += 1
        figures += [(customer, f) for f in row.figures]
    recorded = await _record(session, figures)
    return Imported(len(checked.rows) - updated, updated, recorded)


async def _update(session: AsyncSession, source: str, customer: Customer, row: CustomerRow) -> None:
    """An existing customer as the row says: name, tier, attributes, and domains and contacts added."""
    await customers.edit_customer(
        session,
        None,
        customer,
        name=row.name if row.name != customer.name else None,
        tier=row.tier,
        reason=f"imported from {source}:{row.line}",
        attributes=row.attributes,
        source=TierSource.imported,
    )
    for domain in row.domains:
        await customers.add_domain(session, None, customer, domain)
    for email in row.contacts:
        await customers.add_contact(session, None, customer, email)


async def _record(session: AsyncSession, figures: list[tuple[Customer, Figure]]) -> Recorded:
    """Every row's metrics in one upsert; one administration event per customer whose figures changed."""
    await session.flush()  # new customers get their ids
    sent: dict[int, tuple[Customer, list[Figure]]] = {}
    for customer, figure in figures:
        assert customer.id is not None
        sent.setdefault(customer.id, (customer, []))[1].append(figure)
    per_customer = await metrics.upsert(session, [(c.id, f) for c, f in figures if c.id is not None])
    total = Recorded()
    for customer_id, done in per_customer.items():
        total += done
        if done.created or done.updated:
            customer, given = sent[customer_id]
            metrics.audit(session, None, customer, given, done)
    return total


async def conflicts(
    session: AsyncSession, source: str, claims: list[Claim], existing: dict[str, Customer] | None = None
) -> list[Located]:
    """The claims another customer holds already. A contact seen in mail but held by no customer is free:
    the import gives it to its row's customer. With ``existing`` (an upsert: the customers by reference), a
    reference held is the row's own customer, and so are the domains and contacts it holds; a reference
    held by nobody needs a name and a tier."""
    held = {
        kind: await _holders(session, key, sorted({c.value for c in claims if c.kind == kind}))
        for kind, key in _KEYS.items()
    }
    problems = []
    for claim in claims:
        holder = held[claim.kind].get(claim.value)
        if claim.kind == "reference" and existing is not None:
            if holder is None and not claim.complete:
                message = f"no customer has the reference {claim.value!r}: a new customer needs a name and a tier"
                problems.append(Located(source, claim.line, message, claim.column))
            continue
        if holder is None or (existing is not None and holder == claim.ref):
            continue
        if claim.kind == "reference":
            message = f"a customer with reference {claim.value!r} exists (--upsert updates it)"
        else:
            message = f"{claim.kind} {claim.value} belongs to customer {holder!r}"
        problems.append(Located(source, claim.line, message, claim.column))
    return problems


#: The column each kind of claim is unique in.
_KEYS: dict[str, Any] = {
    "reference": Customer.external_ref,
    "domain": CustomerDomain.domain,
    "contact": CustomerContact.email,
}


async def _holders(session: AsyncSession, key: Any, values: list[str]) -> dict[str, str]:
    """``{value: the external reference of the customer holding it}`` for the held ones, asked in chunks (a
    contact held by no customer is not joined, and so not held)."""
    query = select(key, Customer.external_ref)
    if key is not Customer.external_ref:
        query = query.join(Customer)
    found: dict[str, str] = {}
    for start in range(0, len(values), _CHUNK):
        rows = await session.exec(query.where(col(key).in_(values[start : start + _CHUNK])))
        found |= dict(rows.all())
    return found


async def _customers_by_ref(session: AsyncSession, refs: list[str]) -> dict[str, Customer]:
    found: dict[str, Customer] = {}
    for start in range(0, len(refs), _CHUNK):
        rows = await session.exec(select(Customer).where(col(Customer.external_ref).in_(refs[start : start + _CHUNK])))
        found |= {c.external_ref: c for c in rows.all()}
    return found
