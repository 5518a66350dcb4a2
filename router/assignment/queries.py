"""Reads of push assignment: offers overdue, an agent's pending offers, the team's load."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.assignment import AssignmentOffer, OfferState
from router.models.columns import utcnow


async def overdue_offers(session: AsyncSession, *, grace_seconds: float = 0, limit: int = 1000) -> list[int]:
    """Pending offers past their time (their timeout job was lost, or the assigner died after the commit)."""
    before: datetime = utcnow() - timedelta(seconds=grace_seconds)
    rows = await session.exec(
        select(AssignmentOffer.id)
        .where(AssignmentOffer.state == OfferState.pending, col(AssignmentOffer.expires_at) < before)
        .order_by(col(AssignmentOffer.expires_at))
        .limit(limit)
    )
    return [int(i) for i in rows.all() if i is not None]


async def pending_for(session: AsyncSession, agent_id: int) -> list[AssignmentOffer]:
    rows = await session.exec(
        select(AssignmentOffer)
        .where(AssignmentOffer.agent_id == agent_id, AssignmentOffer.state == OfferState.pending)
        .order_by(col(AssignmentOffer.offered_at))
    )
    return list(rows.all())


async def pending_messages(session: AsyncSession, agent_id: int) -> list[dict[str, Any]]:
    """The agent's pending offers as their pages show them (replayed when a live stream connects)."""
    from router.models.tickets import Ticket
    from router.tickets.offers import offer_message

    rows = await session.exec(
        select(AssignmentOffer, Ticket)
        .join(Ticket, col(Ticket.id) == AssignmentOffer.ticket_id)
        .where(AssignmentOffer.agent_id == agent_id, AssignmentOffer.state == OfferState.pending)
        .order_by(col(AssignmentOffer.offered_at))
    )
    return [offer_message(ticket, offer) for offer, ticket in rows.all()]
