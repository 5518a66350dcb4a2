"""Recently viewed tickets, per agent: the ticket page remembers each visit; the list shows the newest.

Kept in the database (one row per agent and ticket, upserted), so it follows the agent to any browser.
Only the newest ``KEEP`` rows per agent stay. Listing applies the same visibility as every ticket list:
a ticket that moved to a tier the agent does not work drops out of it.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.columns import utcnow
from router.models.tickets import Ticket
from router.models.workspace import RecentTicket
from router.tickets.actors import Actor
from router.tickets.listing import visible

#: How many recently viewed tickets an agent keeps.
KEEP = 20
_TABLE = RecentTicket.__table__  # type: ignore[attr-defined]


async def remember(session: AsyncSession, agent_id: int, ticket_id: int) -> None:
    """Two statements: the visit upserted, and the agent's rows beyond the newest ``KEEP`` dropped."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    upsert = insert(_TABLE).values(agent_id=agent_id, ticket_id=ticket_id, viewed_at=now)
    upsert = upsert.on_conflict_do_update(index_elements=["agent_id", "ticket_id"], set_={"viewed_at": now})
    newest = (
        select(col(RecentTicket.ticket_id))
        .where(col(RecentTicket.agent_id) == agent_id)
        .order_by(col(RecentTicket.viewed_at).desc())
        .limit(KEEP)
    )
    connection = await session.connection()
    await connection.execute(upsert)
    await connection.execute(
        delete(_TABLE).where(_TABLE.c.agent_id == agent_id, _TABLE.c.ticket_id.not_in(newest.scalar_subquery()))
    )


async def recent_tickets(session: AsyncSession, actor: Actor, limit: int = 10) -> list[Ticket]:
    """The agent's recently viewed tickets they may still see, the newest visit first."""
    if actor.agent is None:
        return []
    rows = await session.exec(
        select(Ticket)
        .join(RecentTicket, col(RecentTicket.ticket_id) == col(Ticket.id))
        .where(col(RecentTicket.agent_id) == actor.agent.id, *visible(actor))
        .order_by(col(RecentTicket.viewed_at).desc())
        .limit(limit)
    )
    return list(rows.all())
