"""Route a new ticket: build its snapshot, evaluate the rulebook, store the decision.

Intake routes in its own transaction (``route_opened``); the ``ticket.route`` job (``route``) stays for
tickets that were committed unrouted: re-routing, reconcile and recovery."""

from __future__ import annotations

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import after_commit, route_job
from router.metrics import TICKETS_ROUTED
from router.models.tickets import Status, Ticket
from router.routing.snapshots import snapshot_of
from router.tickets import service as tickets
from rules import Decision, Rulebook

log = structlog.get_logger(__name__)


async def route_opened(session: AsyncSession, ticket: Ticket, rulebook: Rulebook) -> bool:
    """Route a ticket opened in this same transaction: it is committed already in its tier, with its
    ``created`` and ``routed`` events, and in its tier's queue right after the commit (no route job)."""
    assert ticket.id is not None
    try:
        decision = rulebook.evaluate(await snapshot_of(session, ticket))
    except Exception:  # never refuse a ticket over the rulebook: the route job tries again after the commit
        log.exception("routing_at_intake_failed", ticket_id=ticket.id)
        after_commit(session, route_job(ticket.id))
        return False
    return await _apply(session, ticket, decision)


async def _apply(session: AsyncSession, ticket: Ticket, decision: Decision) -> bool:
    routed = await tickets.apply_routing(session, ticket, decision)
    if routed:
        TICKETS_ROUTED.labels(str(ticket.support_tier)).inc()
    return routed


async def route(session: AsyncSession, ticket_id: int, rulebook: Rulebook) -> bool:
    """Idempotent: a ticket that is no longer ``new`` was routed already and is left alone."""
    ticket = await tickets.get(session, ticket_id, lock=True)
    if ticket.status != Status.new:
        return False
    return await _apply(session, ticket, rulebook.evaluate(await snapshot_of(session, ticket)))
