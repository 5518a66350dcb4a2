"""The forecast's thin database reader: a tier's waiting tickets in claim order, recent claims, and what
settles and scores predictions. The database is the source of truth (the Redis queue is derived from it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, text
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


def _hour(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.date_trunc("hour", column)
    return func.substr(column, 1, 13)  # SQLite's UTC text, "YYYY-MM-DD HH"


#: The audit actions by which an agent takes a waiting ticket: a claim (pull) or an accepted offer (push).
TAKEN = ("claimed", "offer_accepted")


def _claim_order() -> str:
    """``ORDER BY`` of the claim order: on the default scale (tier 1 the best) ``ix_ticket_waiting_claim_order``'s
    own order; the other scale reverses the customer tier, which the database then sorts."""
    direction = "" if tier_rank(MIN_CUSTOMER_TIER) == 1 else " DESC"
    return f"priority_rank, customer_tier{direction}, created_at, id"


async def waiting(session: AsyncSession, tier: int) -> WaitingQueue:
    """The claim order is the tier queue's (``router.tierqueues.ordering``): priority, customer tier on the
    installation's scale, age; ties by id. The condition is ``ix_ticket_waiting_claim_order``'s predicate as
    written (an offered ticket, queued with its agent as assignee, is taken, not waiting), so the rows come
    by an index-only scan in that order, no sort.

    On PostgreSQL the rows come through the driver's binary cursor, the due time as a float
    (``date_part``): 100,000 rows through SQLAlchemy's rows and ``extract``'s numerics took 250 ms, 70 here.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        sql = (
            f"SELECT id, date_part('epoch', sla_next_due_at) FROM ticket WHERE support_tier = %s AND {WAITING_SQL} "
            f"ORDER BY {_claim_order()}"
        )
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        async with raw.cursor(binary=True) as cursor:
            await cursor.execute(sql, (tier,))
            rows: Sequence[tuple[int, float]] = await cursor.fetchall()
    else:
        query = text(
            "SELECT id, (julianday(sla_next_due_at) - 2440587.5) * 86400.0 FROM ticket "
            f"WHERE support_tier = :tier AND {WAITING_SQL} ORDER BY {_claim_order()}"
        )
        rows = [(int(r[0]), float(r[1])) for r in (await connection.execute(query, {"tier": tier})).all()]
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
