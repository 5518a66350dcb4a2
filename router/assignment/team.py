"""The lead's view of who is on and how loaded: status, presence, shift and open tickets against caps."""

from __future__ import annotations

import time
from collections import defaultdict

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.assignment.assigner import cap_of, is_present
from router.assignment.schemas import TeamMember, TierLoad
from router.assignment.shifts import calendars, on_shift
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.tickets import OPEN_STATUSES, Ticket


async def loads(session: AsyncSession) -> dict[int, dict[int, int]]:
    """Open tickets per agent and tier."""
    rows = await session.exec(
        select(Ticket.assignee_id, Ticket.support_tier, func.count())
        .where(col(Ticket.assignee_id).is_not(None), col(Ticket.status).in_([s.value for s in OPEN_STATUSES]))
        .group_by(col(Ticket.assignee_id), col(Ticket.support_tier))
    )
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for agent_id, tier, count in rows.all():
        if agent_id is not None and tier is not None:
            out[int(agent_id)][int(tier)] = int(count)
    return out


async def team(session: AsyncSession, *, seen: dict[int, float], away_after: float) -> list[TeamMember]:
    """Active agents, by name, with their load in each tier they work."""
    agents = (await session.exec(select(Agent).where(Agent.active == True).order_by(col(Agent.name)))).all()  # noqa: E712
    held, known, now = await loads(session), calendars(session), utcnow()
    out = []
    for a in agents:
        assert a.id is not None
        tiers = sorted(set(a.tiers) | set(held.get(a.id, {})))
        load = [TierLoad(tier=t, open=held.get(a.id, {}).get(t, 0), max_open=cap_of(a, t)) for t in tiers]
        out.append(
            TeamMember(
                id=a.id,
                name=a.name,
                status=a.status,
                present=is_present(a.id, seen, away_after, time.time()),
                on_shift=on_shift(known, a.shift_calendar, now),
                skills=list(a.skills),
                load=load,
            )
        )
    return out
