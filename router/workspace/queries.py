"""What is on an agent's plate: the counts the navigation bar shows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.sla import ClockState, SlaClock
from router.models.tickets import OPEN_STATUSES, Ticket


@dataclass(frozen=True)
class MyCounts:
    #: Open tickets assigned to the agent.
    open: int
    #: Of those, the ones with a running clock breached.
    breached: int


async def my_counts(session: AsyncSession, agent_id: int) -> MyCounts:
    """Two counts in one query (the ``assignee_id`` index, then each ticket's clocks)."""
    breached = exists().where(
        col(SlaClock.ticket_id) == col(Ticket.id),
        col(SlaClock.stopped_at).is_(None),
        col(SlaClock.state) == ClockState.breached,
    )
    query = select(func.count(), func.count().filter(breached)).where(
        col(Ticket.assignee_id) == agent_id, col(Ticket.status).in_(OPEN_STATUSES)
    )
    total, late = (await session.exec(query)).one()
    return MyCounts(int(total), int(late))
