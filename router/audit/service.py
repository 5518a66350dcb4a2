"""Append to and verify the per-ticket chain (``chain`` seals and checks; this module reads and writes).

Only the ticket service calls ``append``, inside its transaction; the batched paths write the same rows with
``chain_rows``. The ticket row keeps the chain's head (last sequence number and seal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit.chain import (
    GENESIS,
    ChainReport,
    Entry,
    Pin,
    chain_rows,
    check_chain,
    seal,
    state_of,
    stored_form,
)
from router.audit.chain import fields_of as _fields_of
from router.audit.keys import keyring_of
from router.models.audit import AuditEvent
from router.models.columns import utcnow
from router.models.tickets import Ticket

__all__ = [
    "GENESIS",
    "ChainReport",
    "Entry",
    "append",
    "chain_rows",
    "check_chain",
    "events",
    "keyring_of",
    "state_of",
    "stored_form",
    "verify_all",
    "verify_ticket",
]


def append(
    session: AsyncSession,
    ticket: Ticket,
    *,
    actor: str,
    action: str,
    from_tier: int | None = None,
    to_tier: int | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add the next event of ``ticket``'s chain to the session (the caller holds the ticket's row lock and has
    already changed the ticket: the event records its state as it is now)."""
    assert ticket.id is not None
    key = keyring_of(session).current
    event = AuditEvent(
        ticket_id=ticket.id,
        seq=ticket.audit_seq + 1,
        at=utcnow(),
        actor=actor,
        action=action,
        from_tier=from_tier,
        to_tier=to_tier,
        reason=reason,
        data=stored_form(data),
        prev_hash=ticket.audit_head or GENESIS,
        hash="",
        key_id=key.key_id,
        state=state_of(ticket),
    )
    event.hash = seal(key, _fields_of(event), event.state or {})
    ticket.audit_seq = event.seq
    ticket.audit_head = event.hash
    session.add(event)
    return event


async def events(session: AsyncSession, ticket_id: int) -> list[AuditEvent]:
    result = await session.exec(
        select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(col(AuditEvent.seq))
    )
    return list(result.all())


async def _reload(session: AsyncSession, ticket_id: int) -> Ticket | None:
    query = select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    return (await session.exec(query)).first()


async def verify_ticket(session: AsyncSession, ticket: Ticket, pin: Pin | None = None) -> ChainReport:
    """Check ``ticket``'s chain. The row and the events are two reads: a change committed between them looks
    like tampering (an event past the head, a state the head does not record), so a failed check is made
    once more on fresh reads, and only a second failure is reported."""
    assert ticket.id is not None
    keyring = keyring_of(session)
    report = check_chain(ticket, await events(session, ticket.id), keyring, pin)
    if report.valid:
        return report
    fresh = await _reload(session, ticket.id)
    if fresh is None:
        return report
    return check_chain(fresh, await events(session, ticket.id), keyring, pin)


async def verify_all(
    session: AsyncSession, batch: int = 500, pins: dict[int, Pin] | None = None
) -> AsyncIterator[ChainReport]:
    """Every ticket's chain, a batch of tickets at a time (memory stays flat on big databases); ``pins``
    are a checkpoint's heads, by ticket id."""
    keyring = keyring_of(session)
    last_id = 0
    while True:
        tickets = list(
            (
                await session.exec(select(Ticket).where(col(Ticket.id) > last_id).order_by(col(Ticket.id)).limit(batch))
            ).all()
        )
        if not tickets:
            return
        ids = [t.id for t in tickets]
        rows = (
            await session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.ticket_id).in_(ids))
                .order_by(col(AuditEvent.ticket_id), col(AuditEvent.seq))
            )
        ).all()
        by_ticket: dict[int, list[AuditEvent]] = {}
        for event in rows:
            by_ticket.setdefault(event.ticket_id, []).append(event)
        for ticket in tickets:
            assert ticket.id is not None
            pin = pins.get(ticket.id) if pins else None
            report = check_chain(ticket, by_ticket.get(ticket.id, []), keyring, pin)
            yield report if report.valid else await verify_ticket(session, ticket, pin)
        last_id = ids[-1] or last_id
        session.expunge_all()
