"""The forecast's thin database reader: a tier's waiting tickets in claim order, recent claims, and what
settles and scores predictions. The database is the source of truth (the Redis queue is derived from it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models import metadata
from router.models.tickets import NO_SLA_DUE, Status
from router.tierqueues.ordering import queue_score

TICKET = metadata.tables["ticket"]
AUDIT = metadata.tables["audit_event"]


@dataclass(frozen=True)
class WaitingQueue:
    """A tier's queued tickets in claim order, with their soonest SLA due time (None: no counting clock)."""

    ids: list[int]
    due_at: list[datetime | None]

    def due_seconds(self) -> list[float | None]:
        return [d.timestamp() if d is not None else None for d in self.due_at]


async def waiting(session: AsyncSession, tier: int) -> WaitingQueue:
    """The claim order is the tier queue's (``router.tierqueues.ordering``): priority, customer tier, age;
    ties by id, as the sorted set breaks them."""
    t = TICKET.c
    query = select(t.id, t.priority, t.customer_tier, t.created_at, t.sla_next_due_at).where(
        t.status == Status.queued.value, t.support_tier == tier
    )
    rows = sorted(
        (await (await session.connection()).execute(query)).all(),
        key=lambda r: (queue_score(r.priority, r.customer_tier, r.created_at), r.id),
    )
    return WaitingQueue(
        [r.id for r in rows], [None if r.sla_next_due_at >= NO_SLA_DUE else r.sla_next_due_at for r in rows]
    )


async def recent_claims(session: AsyncSession, tier: int, since: datetime) -> list[tuple[str, float]]:
    """``(actor, epoch seconds)`` of every claim into ``tier`` since ``since`` (audit ``claimed`` events)."""
    a = AUDIT.c
    query = select(a.actor, a.at).where(a.action == "claimed", a.at >= since, a.to_tier == tier)
    rows = (await (await session.connection()).execute(query)).all()
    return [(r.actor, r.at.timestamp()) for r in rows]


async def left_queue(session: AsyncSession, waits: Sequence[tuple[int, int, datetime]]) -> list[datetime | None]:
    """For each ``(ticket id, tier, since)``, when the ticket left that tier's queue after ``since`` (the
    first audit event whose resulting state is not queued in that tier); None while it still waits there."""
    if not waits:
        return []
    a = AUDIT.c
    earliest = min(since for _, _, since in waits)
    ids = sorted({ticket_id for ticket_id, _, _ in waits})
    query = (
        select(a.ticket_id, a.at, a.state).where(a.ticket_id.in_(ids), a.at >= earliest).order_by(a.ticket_id, a.seq)
    )
    events: dict[int, list[tuple[datetime, dict[str, object] | None]]] = {}
    for row in (await (await session.connection()).execute(query)).all():
        events.setdefault(row.ticket_id, []).append((row.at, row.state))
    return [
        next(
            (
                at
                for at, state in events.get(ticket_id, [])
                if at >= since
                and state is not None
                and (state.get("status") != Status.queued.value or state.get("support_tier") != tier)
            ),
            None,
        )
        for ticket_id, tier, since in waits
    ]


async def breached_while_waiting(session: AsyncSession, since: datetime, until: datetime) -> set[int]:
    """Tickets with an SLA breach (audit ``sla_breached``) in the period while they were queued."""
    a = AUDIT.c
    query = select(a.ticket_id, a.state).where(a.action == "sla_breached", a.at >= since, a.at < until)
    rows = (await (await session.connection()).execute(query)).all()
    return {r.ticket_id for r in rows if r.state is not None and r.state.get("status") == Status.queued.value}
