"""Claim the head of a tier's queue, and read queue depth, age and contents."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.context import TierQueuePort
from router.effects import PlaceInQueue, drop_undo, on_rollback
from router.errors import NotFound
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.tickets import Ticket
from router.tickets import claiming
from router.tickets import service as tickets
from router.tickets.actors import Actor, require_tier
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER, SUPPORT_TIERS


def check_tier(tier: int) -> int:
    if tier not in SUPPORT_TIERS:
        raise NotFound(
            f"there is no support tier {tier}; tiers are {MIN_SUPPORT_TIER} to {MAX_SUPPORT_TIER}", tier=tier
        )
    return tier


async def claim_next(session: AsyncSession, queue: TierQueuePort, tier: int, agent: Agent) -> Ticket | None:
    """Pop the head of the tier's queue and assign it to ``agent``; None when the queue is empty.

    ``ZPOPMIN`` hands each entry to exactly one caller. An entry the database no longer agrees with (moved,
    resolved or claimed since) is dropped and the next one taken. If the claim's commit fails the entry is
    pushed back (the undo list).
    """
    require_tier(Actor.of(agent), check_tier(tier))
    while True:
        popped = await queue.pop(tier)
        if popped is None:
            return None
        # Registered at once: if anything below fails, the rollback puts the entry back (a stale entry
        # put back is harmless: the next claim drops it).
        undo = PlaceInQueue(tier, popped.ticket_id, popped.score, popped.created_ms)
        on_rollback(session, undo)
        if not claiming.needs_clock_changes(session):  # the common case: two statements, no ORM load
            if await claiming.claim_queued(session, popped.ticket_id, tier, agent):
                return await tickets.get(session, popped.ticket_id)
            drop_undo(session, undo)
            continue
        try:
            ticket = await tickets.get(session, popped.ticket_id, lock=True)
        except NotFound:
            drop_undo(session, undo)
            continue
        if ticket.support_tier == tier and await tickets.claim(session, ticket, agent):
            return ticket
        drop_undo(session, undo)


@dataclass(frozen=True)
class TierSummary:
    tier: int
    name: str
    depth: int
    oldest_age_seconds: float | None


async def overview(queue: TierQueuePort, names: list[str]) -> list[TierSummary]:
    now_ms = utcnow().timestamp() * 1000
    out = []
    for tier in SUPPORT_TIERS:
        oldest = await queue.oldest_created_ms(tier)
        age = round((now_ms - oldest) / 1000, 3) if oldest is not None else None
        out.append(TierSummary(tier, names[tier], await queue.depth(tier), age))
    return out


async def page(
    session: AsyncSession, queue: TierQueuePort, tier: int, *, offset: int, limit: int
) -> tuple[list[Ticket], int]:
    """One page of the tier's queue in claim order, and the queue's total length."""
    check_tier(tier)
    ids = await queue.page(tier, offset, limit)
    total = await queue.depth(tier)
    if not ids:
        return [], total
    rows = (await session.exec(select(Ticket).where(col(Ticket.id).in_(ids)))).all()
    by_id = {t.id: t for t in rows}
    return [by_id[i] for i in ids if i in by_id], total
