"""A checked customers file (``import_file``) against the database, then written: a reference, domain or
contact another customer already holds is a located problem, reported with the file's own problems, and
nothing is written unless there is none. The caller's transaction holds the check and the writes together."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import service as customers
from router.customers.import_file import CheckedFile, Claim, Located, Refused
from router.models.customers import Customer, CustomerContact, CustomerDomain

#: Values per ``IN (...)``: well under SQLite's and PostgreSQL's limits on bound parameters.
_CHUNK = 1000


async def import_rows(session: AsyncSession, source: str, checked: CheckedFile) -> int:
    """Create a customer per row; ``Refused``, with every problem of the file and the database in line order,
    and nothing written, if there is any."""
    problems = checked.problems + await conflicts(session, source, checked.claims)
    if problems:
        raise Refused(problems)
    for row in checked.rows:
        await customers.create_customer(
            session,
            external_ref=row.external_ref,
            name=row.name,
            tier=row.tier,
            domains=row.domains,
            contacts=row.contacts,
        )
    return len(checked.rows)


async def conflicts(session: AsyncSession, source: str, claims: list[Claim]) -> list[Located]:
    """The claims another customer holds already. A contact seen in mail but held by no customer is free:
    the import gives it to its row's customer."""
    held = {
        kind: await _holders(session, key, sorted({c.value for c in claims if c.kind == kind}))
        for kind, key in _KEYS.items()
    }
    problems = []
    for claim in claims:
        holder = held[claim.kind].get(claim.value)
        if holder is None:
            continue
        if claim.kind == "reference":
            message = f"a customer with reference {claim.value!r} exists"
        else:
            message = f"{claim.kind} {claim.value} belongs to customer {holder!r}"
        problems.append(Located(source, claim.line, message))
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
