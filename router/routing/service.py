"""Route a new ticket: build its snapshot, evaluate the rulebook, store the decision."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.tickets import Status
from router.routing.snapshots import snapshot_of
from router.tickets import service as tickets
from rules import Rulebook


async def route(session: AsyncSession, ticket_id: int, rulebook: Rulebook) -> bool:
    """Idempotent: a ticket that is no longer ``new`` was routed already and is left alone."""
    ticket = await tickets.get(session, ticket_id, lock=True)
    if ticket.status != Status.new:
        return False
    decision = rulebook.evaluate(await snapshot_of(session, ticket))
    return await tickets.apply_routing(session, ticket, decision)
