"""The forecast's thin database reader: a tier's waiting tickets in claim order, recent claims, and what
settles and scores predictions. The database is the source of truth (the Redis queue is derived from it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, cast, func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models import metadata
from router.models.tickets import NO_SLA_DUE, WAITING_SQL, Status
from rules.vocabulary import MIN_CUSTOMER_TIER, tier_rank

TICKET = metadata.tables["ticket"]
AUDIT = metadata.tables["audit_event"]


@dataclass(frozen=True)
class WaitingQueue:
    """A tier's queued tickets in claim order, with their soonest SLA due time as epoch seconds (None: no
    counting clock)."""

    ids: list[int]
    due: list[float | None]


def _epoch(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """A timestamp column as epoch seconds, computed by the database: a 100,000-row read then converts no
    datetimes in Python (SQLite keeps UTC text, which ``julianday`` reads)."""
    if dialect == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _hour(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.date_trunc("hour", column)
    return func.substr(column, 1, 13)  # SQLite's UTC text, "YYYY-MM-DD HH"


#: The audit actions by which an agent takes a waiting ticket: a claim (pull) or an accepted offer (push).
TAKEN = ("claimed", "offer_accepted")


async def waiting(session: AsyncSession, tier: int) -> WaitingQueue:
    """The claim order is the tier queue's (``router.tierqueues.ordering``): priority, customer tier on the
    installation's scale, age; ties by id. On the default scale (tier 1 the best) that is
    ``ix_ticket_waiting_claim_order``'s order: an index-only scan, no sort (the other scale reverses the
    customer tier, which the database sorts). The due time comes as a float (``extract`` answers numeric,
    which the driver would turn into ``Decimal``s), and the rows as plain tuples."""
    t = TICKET.c
    connection = await session.connection()
    dialect = connection.dialect.name
    customer = t.customer_tier if tier_rank(MIN_CUSTOMER_TIER) == 1 else t.customer_tier.desc()
    query = (
        select(t.id, cast(_epoch(t.sla_next_due_at, dialect), Float))
        # An offered ticket (push assignment) is queued with its agent as assignee: taken, not waiting. The
        # condition is the index's predicate as written, so that the planner always matches it.
        .where(t.support_tier == tier, text(WAITING_SQL))
        .order_by(t.priority_rank, customer, t.created_at, t.id)
    )
    rows = (await connection.execute(query)).all()
    never = NO_SLA_DUE.timestamp() - 1
    return WaitingQueue([r[0] for r in rows], [None if r[1] >= never else r[1] for r in rows])


async def recent_handling(session: AsyncSession, tier: int, since: datetime) -> tuple[int, int]:
    """Tickets taken in ``tier`` since ``since`` (audit ``claimed`` events, and ``offer_accepted`` where the
    tier pushes work), and the agent-hours they fall in (distinct agent and clock hour), both counted by the
    database."""
    a = AUDIT.c
    connection = await session.connection()
    claimed = (a.action.in_(TAKEN), a.at >= since, a.to_tier == tier)
    claims = (await connection.execute(select(func.count()).where(*claimed))).scalar_one()
    hours = select(a.actor, _hour(a.at, connection.dialect.name).label("hour")).where(*claimed).distinct()
    agent_hours = (await connection.execute(select(func.count()).select_from(hours.subquery()))).scalar_one()
    return int(claims), int(agent_hours)


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
