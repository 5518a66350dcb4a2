"""Append to and verify the per-ticket hash chain.

Each event's hash is SHA-256 over a canonical JSON of its fields and the previous event's hash; the
ticket row keeps the head (last sequence number and hash), so a deleted tail is caught as well as an
edited or removed middle event. Only the ticket service calls ``append``, inside its transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.audit import AuditEvent
from router.models.columns import utcnow
from router.models.tickets import Ticket

GENESIS = "0" * 64


def event_hash(
    *,
    ticket_id: int,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    from_tier: int | None,
    to_tier: int | None,
    reason: str | None,
    data: dict[str, Any],
    prev_hash: str,
) -> str:
    canonical = json.dumps(
        {
            "ticket_id": ticket_id,
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "from_tier": from_tier,
            "to_tier": to_tier,
            "reason": reason,
            "data": data,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _hash_of(event: AuditEvent) -> str:
    return event_hash(
        ticket_id=event.ticket_id,
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        action=event.action,
        from_tier=event.from_tier,
        to_tier=event.to_tier,
        reason=event.reason,
        data=event.data,
        prev_hash=event.prev_hash,
    )


def stored_form(data: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` as the database gives it back (a JSON round trip), which is what the hash must cover."""
    payload: dict[str, Any] = json.loads(json.dumps(data or {}, default=str))
    return payload


@dataclass(frozen=True)
class Entry:
    """One event for ``chain_rows``."""

    actor: str
    action: str
    data: dict[str, Any]
    from_tier: int | None = None
    to_tier: int | None = None
    reason: str | None = None


def chain_rows(
    ticket_id: int, entries: list[Entry], at: datetime, *, after_seq: int = 0, after_hash: str = ""
) -> list[dict[str, Any]]:
    """The rows of the next events of a ticket's chain (its first when ``after_seq`` is 0), hashed and linked
    as ``append`` links them, for the batched paths to insert many chains in one statement. The ticket
    row's new head is the last row's ``seq`` and ``hash``."""
    rows: list[dict[str, Any]] = []
    prev = after_hash or GENESIS
    for seq, entry in enumerate(entries, start=after_seq + 1):
        row: dict[str, Any] = {
            "ticket_id": ticket_id,
            "seq": seq,
            "at": at,
            "actor": entry.actor,
            "action": entry.action,
            "from_tier": entry.from_tier,
            "to_tier": entry.to_tier,
            "reason": entry.reason,
            "data": stored_form(entry.data),
            "prev_hash": prev,
        }
        row["hash"] = prev = event_hash(
            ticket_id=ticket_id,
            seq=seq,
            at=at,
            actor=entry.actor,
            action=entry.action,
            from_tier=entry.from_tier,
            to_tier=entry.to_tier,
            reason=entry.reason,
            data=row["data"],
            prev_hash=row["prev_hash"],
        )
        rows.append(row)
    return rows


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
    """Add the next event of ``ticket``'s chain to the session (the caller holds the ticket's row lock)."""
    assert ticket.id is not None
    at = utcnow()
    payload = stored_form(data)
    event = AuditEvent(
        ticket_id=ticket.id,
        seq=ticket.audit_seq + 1,
        at=at,
        actor=actor,
        action=action,
        from_tier=from_tier,
        to_tier=to_tier,
        reason=reason,
        data=payload,
        prev_hash=ticket.audit_head or GENESIS,
        hash="",
    )
    event.hash = _hash_of(event)
    ticket.audit_seq = event.seq
    ticket.audit_head = event.hash
    session.add(event)
    return event


async def events(session: AsyncSession, ticket_id: int) -> list[AuditEvent]:
    result = await session.exec(
        select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(col(AuditEvent.seq))
    )
    return list(result.all())


@dataclass(frozen=True)
class ChainReport:
    ticket_id: int
    valid: bool
    events: int
    broken_at_seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "valid": self.valid,
            "events": self.events,
            "broken_at_seq": self.broken_at_seq,
            "problem": self.problem,
        }


def check_chain(ticket: Ticket, chain: list[AuditEvent]) -> ChainReport:
    """Recompute every hash and link; compare the end with the head the ticket row remembers."""
    assert ticket.id is not None
    prev = GENESIS
    for expected_seq, event in enumerate(chain, start=1):
        if event.seq != expected_seq:
            return ChainReport(ticket.id, False, len(chain), expected_seq, f"event {expected_seq} is missing")
        if event.prev_hash != prev:
            return ChainReport(ticket.id, False, len(chain), event.seq, "link to the previous event is broken")
        if _hash_of(event) != event.hash:
            return ChainReport(ticket.id, False, len(chain), event.seq, "event content does not match its hash")
        prev = event.hash
    # The ticket row may have been read just before another change committed: events after its recorded
    # head are fine as long as they link (checked above); the head itself must be in the chain.
    if len(chain) < ticket.audit_seq:
        return ChainReport(ticket.id, False, len(chain), len(chain) + 1, "chain ends before the ticket's recorded head")
    head = chain[ticket.audit_seq - 1].hash if ticket.audit_seq else GENESIS
    if head != (ticket.audit_head or GENESIS):
        return ChainReport(ticket.id, False, len(chain), ticket.audit_seq, "the ticket's recorded head does not match")
    return ChainReport(ticket.id, True, len(chain))


async def verify_ticket(session: AsyncSession, ticket: Ticket) -> ChainReport:
    assert ticket.id is not None
    return check_chain(ticket, await events(session, ticket.id))


async def verify_all(session: AsyncSession, batch: int = 500) -> AsyncIterator[ChainReport]:
    """Every ticket's chain, a batch of tickets at a time (memory stays flat on big databases)."""
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
            yield check_chain(ticket, by_ticket.get(ticket.id, []))
        last_id = ids[-1] or last_id
        session.expunge_all()
