"""How many agents take work in a tier: the forecast's one capacity input."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.agents import Agent


async def tier_capacity(session: AsyncSession, tier: int) -> int:
    """Active agents given the tier (``Agent.tiers``; leads, who see every tier, count only where listed).

    This is where agent availability (available / away / offline) and per-tier ``max_open`` plug in once
    they exist: count only the available agents, each weighted by their free share of ``max_open``.
    """
    agents = (await session.exec(select(Agent.tiers).where(col(Agent.active).is_(True)))).all()
    return sum(1 for tiers in agents if tier in tiers)
