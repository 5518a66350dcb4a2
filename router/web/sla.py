"""Where the web UI gets SLA figures from the SLA engine (one place, so pages never invent deadlines)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.columns import utcnow
from router.models.tickets import Status, Ticket
from router.sla import queries as sla_queries
from router.sla.schemas import SlaOut

#: "Near breach" on the queue overview: a running clock due within this (or already overdue).
NEAR_BREACH = timedelta(hours=1)


async def ticket_slas(session: AsyncSession, tickets: Sequence[Ticket]) -> dict[int, SlaOut | None]:
    """Each ticket's SLA object (state, clocks, business time left), in one query for a whole page."""
    ids = [t.id for t in tickets if t.id is not None]
    return await sla_queries.sla_of(session, ids, utcnow())


async def near_breach(session: AsyncSession, tiers: list[int]) -> dict[int, int]:
    """Per tier, the *waiting* tickets (queued, not yet claimed) near SLA breach: the same set as the
    "Waiting" count beside it on My queues, so it never exceeds it (claimed tickets show on their pages)."""
    return await sla_queries.count_near_breach(
        session, tiers, now=utcnow(), within=NEAR_BREACH, statuses=[Status.queued]
    )
