"""How many agents take work in a tier: the forecast's one capacity input."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.assignment.shifts import calendars, on_shift
from router.models.agents import Agent, AgentStatus


async def tier_capacity(session: AsyncSession, tier: int, now: datetime) -> int:
    """Active agents given the tier (``Agent.tiers``; leads, who see every tier, count only where listed) who
    are on shift now (their shift calendar, ``docs/assignment.md``) and not away (set by themselves, a lead,
    or the live stream's absence). ``offline`` still counts: it is every agent's status until they use the
    toggle, and a tier that only pulls never asks them to. Each counts once: an agent works one ticket at a
    time, whatever their cap on open tickets."""
    rows = (
        await session.exec(
            select(Agent.tiers, Agent.status, Agent.shift_calendar).where(
                col(Agent.active).is_(True), Agent.status != AgentStatus.away
            )
        )
    ).all()
    known = calendars(session)
    return sum(1 for tiers, _, shift in rows if tier in tiers and on_shift(known, shift, now))
