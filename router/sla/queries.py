"""Read-only SLA queries: clocks for the API, tickets near breach per tier, and timers for reconcile."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.sla import SlaClock
from router.models.tickets import OPEN_STATUSES, Ticket
from router.sla.policies import policies_of
from router.sla.schemas import SlaOut, sla_view


async def clocks_by_ticket(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, list[SlaClock]]:
    """All clocks of the given tickets in one query (ticket lists stay one round trip)."""
    out: dict[int, list[SlaClock]] = defaultdict(list)
    if not ticket_ids:
        return out
    rows = await session.exec(
        select(SlaClock).where(col(SlaClock.ticket_id).in_(list(ticket_ids))).order_by(col(SlaClock.id))
    )
    for clock in rows.all():
        out[clock.ticket_id].append(clock)
    return out


async def sla_of(session: AsyncSession, ticket_ids: Sequence[int], now: datetime) -> dict[int, SlaOut | None]:
    """The API's ``sla`` object for each ticket."""
    policies = policies_of(session)
    found = await clocks_by_ticket(session, ticket_ids)
    return {tid: sla_view(found.get(tid, []), policies, now) for tid in ticket_ids}


def _near_breach(now: datetime, within: timedelta, statuses: Sequence[str] = OPEN_STATUSES) -> list[Any]:
    return [
        col(SlaClock.due_at) <= now + within,
        col(SlaClock.stopped_at).is_(None),
        col(SlaClock.paused_at).is_(None),
        col(Ticket.status).in_(list(statuses)),
    ]


async def near_breach(
    session: AsyncSession, tier: int, *, now: datetime, within: timedelta, limit: int = 50
) -> list[tuple[Ticket, SlaClock]]:
    """Open tickets in ``tier`` with a counting clock due before ``now + within`` (overdue ones included),
    soonest first; for queue pages ("about to breach"). Uses the ``(support_tier, due_at)`` index."""
    query = (
        select(Ticket, SlaClock)
        .join(SlaClock, col(SlaClock.ticket_id) == col(Ticket.id))
        .where(SlaClock.support_tier == tier, *_near_breach(now, within))
        .order_by(col(SlaClock.due_at))
        .limit(limit)
    )
    return [(t, c) for t, c in (await session.exec(query)).all()]


async def count_near_breach(
    session: AsyncSession,
    tiers: Sequence[int],
    *,
    now: datetime,
    within: timedelta,
    statuses: Sequence[str] = OPEN_STATUSES,
) -> dict[int, int]:
    """Per tier, how many tickets in ``statuses`` (default: all open ones) have a clock due within ``within``
    (or overdue): one query."""
    query = (
        select(SlaClock.support_tier, func.count(func.distinct(SlaClock.ticket_id)))
        .join(Ticket, col(SlaClock.ticket_id) == col(Ticket.id))
        .where(col(SlaClock.support_tier).in_(list(tiers)), *_near_breach(now, within, statuses))
        .group_by(col(SlaClock.support_tier))
    )
    found = {int(tier): int(n) for tier, n in (await session.exec(query)).all()}
    return {t: found.get(t, 0) for t in tiers}


async def pending_timers(session: AsyncSession, *, after_id: int, limit: int) -> list[tuple[int, str, datetime]]:
    """``(clock id, timer member, fires at)`` for clocks with a pending timer, by id (keyset pages)."""
    query = (
        sa_select(SlaClock.id, SlaClock.ticket_id, SlaClock.kind, SlaClock.generation, SlaClock.next_at)  # type: ignore[call-overload]
        .where(col(SlaClock.next_at).is_not(None), col(SlaClock.id) > after_id)
        .order_by(col(SlaClock.id))
        .limit(limit)
    )
    rows = (await session.exec(query)).all()
    return [(int(i), f"{t}:{k}:{g}", n) for i, t, k, g, n in rows if i is not None and n is not None]


async def overdue_timers(session: AsyncSession, *, before: datetime, limit: int = 10_000) -> list[tuple[str, datetime]]:
    """Timers that should have fired before ``before`` but whose clock has not moved on (a lost timer or a
    failed job); uses the ``next_at`` index, so it costs what is overdue, not what is open."""
    query = (
        sa_select(SlaClock.ticket_id, SlaClock.kind, SlaClock.generation, SlaClock.next_at)  # type: ignore[call-overload]
        .where(col(SlaClock.next_at) < before)
        .order_by(col(SlaClock.next_at))
        .limit(limit)
    )
    return [(f"{t}:{k}:{g}", n) for t, k, g, n in (await session.exec(query)).all()]
