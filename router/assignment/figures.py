"""Push assignment's figures for the SLA report and ``/metrics``: offers by outcome, assignment latency
(queued → offered), and utilisation (open tickets against caps) per agent and tier."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.assignment.assigner import cap_of
from router.assignment.team import loads
from router.models.agents import Agent
from router.models.assignment import AssignmentOffer, OfferState

#: The most offers a report reads for its latency percentiles (the newest in the window).
LATENCY_SAMPLE = 100_000


class TierOffers(BaseModel):
    tier: int
    offered: int
    accepted: int
    declined: int
    expired: int
    withdrawn: int
    pending: int
    #: Seconds from entering the queue to the offer (p50, p95), over the window's offers.
    latency_p50: float | None
    latency_p95: float | None


class Utilisation(BaseModel):
    agent_id: int
    name: str
    tier: int
    open: int
    max_open: int
    #: open / max_open now (occupancy of their capacity); None with a cap of 0.
    utilisation: float | None


class AssignmentFigures(BaseModel):
    by_tier: list[TierOffers]
    utilisation: list[Utilisation]


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def figures(
    session: AsyncSession, since: datetime, until: datetime, *, agent_id: int | None = None
) -> AssignmentFigures:
    """Offers made in ``[since, until)`` by tier and outcome, with latency; utilisation as it is now."""
    query = (
        select(AssignmentOffer.tier, AssignmentOffer.state, AssignmentOffer.queued_at, AssignmentOffer.offered_at)
        .where(col(AssignmentOffer.offered_at) >= since, col(AssignmentOffer.offered_at) < until)
        .order_by(col(AssignmentOffer.offered_at).desc())
        .limit(LATENCY_SAMPLE)
    )
    if agent_id is not None:
        query = query.where(AssignmentOffer.agent_id == agent_id)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    waits: dict[int, list[float]] = defaultdict(list)
    for tier, state, queued_at, offered_at in (await session.exec(query)).all():
        counts[tier][state] += 1
        if queued_at is not None:
            waits[tier].append(max((offered_at - queued_at).total_seconds(), 0.0))
    by_tier = [
        TierOffers(
            tier=tier,
            offered=sum(c.values()),
            accepted=c[OfferState.accepted],
            declined=c[OfferState.declined],
            expired=c[OfferState.expired],
            withdrawn=c[OfferState.withdrawn],
            pending=c[OfferState.pending],
            latency_p50=_quantile(waits[tier], 0.5),
            latency_p95=_quantile(waits[tier], 0.95),
        )
        for tier, c in sorted(counts.items())
    ]
    return AssignmentFigures(by_tier=by_tier, utilisation=await utilisation(session, agent_id=agent_id))


async def utilisation(session: AsyncSession, *, agent_id: int | None = None) -> list[Utilisation]:
    """Each active agent's open tickets against their cap, per tier they work or hold tickets in."""
    query = select(Agent).where(Agent.active == True).order_by(col(Agent.name))  # noqa: E712
    if agent_id is not None:
        query = query.where(Agent.id == agent_id)
    held = await loads(session)
    out = []
    for a in (await session.exec(query)).all():
        assert a.id is not None
        for tier in sorted(set(a.tiers) | set(held.get(a.id, {}))):
            n, cap = held.get(a.id, {}).get(tier, 0), cap_of(a, tier)
            out.append(Utilisation(agent_id=a.id, name=a.name, tier=tier, open=n, max_open=cap,
                                   utilisation=round(n / cap, 3) if cap else None))  # fmt: skip
    return out
