"""Push assignment's offers, a room beside the ticket service's door: offer a queued ticket to one agent,
and the agent's answer (accept, decline) or the timeout.

An offered ticket stays ``queued`` with the agent as assignee: out of the tier queue (a claim cannot take it:
``claiming`` only takes unassigned tickets) and counted in the agent's load. Accepting makes it
``in_progress``; a decline or timeout puts it back at its place in the queue (the queue's order is its
priority, customer tier and age, so the same score). The pending offer row is unique per ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import WakeAssigner, after_commit, agent_topic, live
from router.errors import Conflict, NotFound
from router.models.agents import Agent
from router.models.assignment import AssignmentOffer, OfferState
from router.models.columns import utcnow
from router.models.tickets import Status, Ticket
from router.sla import service as sla
from router.tickets import trail
from router.tickets.actors import Actor, may_act
from router.tierqueues import placement
from rules.assignment import Choice


def _still_offered(ticket: Ticket, offer: AssignmentOffer) -> bool:
    return ticket.status == Status.queued and ticket.assignee_id == offer.agent_id and ticket.support_tier == offer.tier


async def offer(
    session: AsyncSession, ticket: Ticket, agent_id: int, choice: Choice, *, seconds: float, now: datetime | None = None
) -> AssignmentOffer:
    """Offer ``ticket`` (queued, unassigned, already popped from the Redis queue by the caller) to the agent
    ``agent_id`` for ``seconds``. Audited as ``assigned`` with the strategy and the candidates considered."""
    assert ticket.id is not None and ticket.support_tier is not None
    if ticket.status != Status.queued or ticket.assignee_id is not None:
        raise Conflict(f"ticket {ticket.ref} is no longer waiting in the queue")
    now = now or utcnow()
    row = AssignmentOffer(
        ticket_id=ticket.id,
        agent_id=agent_id,
        tier=ticket.support_tier,
        strategy=choice.strategy,
        considered=list(choice.considered),
        reason=choice.reason[:64],
        queued_at=ticket.queued_at,
        offered_at=now,
        expires_at=now + timedelta(seconds=seconds),
    )
    session.add(row)  # flushed with the batch's other offers: one round trip for many (the assigner's batches)
    ticket.assignee_id = agent_id
    trail.record(
        session,
        ticket,
        actor="system:assigner",
        action="assigned",
        to_tier=ticket.support_tier,
        data={
            "to_agent": agent_id,
            "strategy": choice.strategy,
            "reason": choice.reason,
            "candidates": list(choice.considered),
            "expires_at": row.expires_at.isoformat(),
        },
    )
    message = offer_message(ticket, row)
    after_commit(session, live(agent_topic(agent_id), "offer", message))
    return row


def offer_message(ticket: Ticket, row: AssignmentOffer) -> dict[str, Any]:
    """What the agent's pages show of an offer (the live ``offer`` event, also replayed when a page connects)."""
    seconds = (row.expires_at - row.offered_at).total_seconds()
    return {"ticket_id": ticket.id, "ref": ticket.ref, "subject": ticket.subject, "support_tier": ticket.support_tier,
            "priority": ticket.priority, "expires_at": row.expires_at.isoformat(), "timeout": seconds}  # fmt: skip


async def withdraw_stale(session: AsyncSession, ticket_ids: list[int]) -> int:
    """Close the pending offers of tickets that are waiting unassigned again (the caller holds their row
    locks): the ticket moved on while offered (escalated, parked, reassigned and released, resolved and
    reopened), which leaves its offer pending until it times out. Done before a new offer, whose pending row
    is unique per ticket: one stale row would otherwise roll back the assigner's whole batch, again and
    again, until the sweep expired it."""
    if not ticket_ids:
        return 0
    stale = (
        await session.exec(
            select(AssignmentOffer)
            .where(col(AssignmentOffer.ticket_id).in_(ticket_ids), AssignmentOffer.state == OfferState.pending)
            .order_by(col(AssignmentOffer.id))
            .with_for_update()
        )
    ).all()
    for row in stale:
        await _close(session, row, OfferState.withdrawn)
    return len(stale)


async def get_offer(session: AsyncSession, offer_id: int, *, lock: bool = False) -> AssignmentOffer:
    query = select(AssignmentOffer).where(AssignmentOffer.id == offer_id)
    if lock:
        query = query.with_for_update()
    row = (await session.exec(query)).first()
    if row is None:
        raise NotFound(f"there is no offer {offer_id}", offer_id=offer_id)
    return row


async def pending_offer(session: AsyncSession, ticket_id: int, agent: Agent) -> AssignmentOffer:
    """The ticket's pending offer to ``agent`` (locked), or ``NotFound``: an offer is named by its ticket."""
    row = (
        await session.exec(
            select(AssignmentOffer)
            .where(AssignmentOffer.ticket_id == ticket_id, AssignmentOffer.state == OfferState.pending)
            .with_for_update()
        )
    ).first()
    if row is None or row.agent_id != agent.id:
        raise NotFound(f"ticket {ticket_id} is not offered to you (any more)", ticket_id=ticket_id)
    return row


async def _ticket(session: AsyncSession, offer: AssignmentOffer) -> Ticket:
    ticket = (await session.exec(select(Ticket).where(Ticket.id == offer.ticket_id).with_for_update())).one()
    return ticket


@dataclass(frozen=True)
class Refused:
    """An accept that came too late: the offer is closed (and the ticket back in its queue) in this
    transaction, which the caller commits before it answers 409 with ``reason``."""

    ref: str
    reason: str


async def accept(session: AsyncSession, ticket_id: int, agent: Agent) -> Ticket | Refused:
    """The agent takes the ticket offered to them: it is theirs, ``in_progress``. ``Refused`` when the ticket
    moved on, the offer ran out (the sweep had not got to it yet) or the agent no longer works its tier."""
    row = await pending_offer(session, ticket_id, agent)
    ticket = await _ticket(session, row)
    if not _still_offered(ticket, row):
        await _close(session, row, OfferState.withdrawn)
        return Refused(ticket.ref or "", f"the offer of {ticket.ref} was withdrawn: the ticket moved on")
    if row.expires_at <= utcnow():
        await _give_back(session, row, ticket, OfferState.expired, actor="system:assigner", reason="no answer in time")
        return Refused(ticket.ref or "", f"the offer of {ticket.ref} ran out; the ticket went back to its queue")
    if not may_act(Actor.of(agent), ticket.support_tier):
        await _give_back(
            session, row, ticket, OfferState.withdrawn, actor="system:assigner", reason="no longer works the tier"
        )
        return Refused(ticket.ref or "", f"you no longer work tier {ticket.support_tier}; {ticket.ref} went back")
    await _close(session, row, OfferState.accepted)
    ticket.status = Status.in_progress
    changes = await sla.sync_pause(session, ticket, utcnow())
    trail.record(session, ticket, actor=Actor.of(agent).name, action="offer_accepted", to_tier=ticket.support_tier,
                 data={"offer_id": row.id}, sla_changes=changes)  # fmt: skip
    return ticket


async def decline(session: AsyncSession, ticket_id: int, agent: Agent, *, reason: str | None = None) -> Ticket:
    """The agent passes: the ticket goes back to its place in the queue (the assigner offers it to another)."""
    row = await pending_offer(session, ticket_id, agent)
    ticket = await _ticket(session, row)
    await _give_back(session, row, ticket, OfferState.declined, actor=Actor.of(agent).name, reason=reason)
    return ticket


async def expire(session: AsyncSession, offer_id: int, *, now: datetime | None = None) -> bool:
    """Take back an offer nobody answered by its time; False when it was answered (or is not due yet)."""
    row = await get_offer(session, offer_id, lock=True)
    if row.state != OfferState.pending or row.expires_at > (now or utcnow()):
        return False
    ticket = await _ticket(session, row)
    await _give_back(session, row, ticket, OfferState.expired, actor="system:assigner", reason="no answer in time")
    return True


_GIVEN_BACK = {OfferState.declined: "offer_declined", OfferState.withdrawn: "offer_withdrawn"}


async def _give_back(
    session: AsyncSession, row: AssignmentOffer, ticket: Ticket, state: OfferState, *, actor: str, reason: str | None
) -> None:
    if not _still_offered(ticket, row):  # moved on meanwhile (a lead reassigned it, it was escalated...)
        await _close(session, row, OfferState.withdrawn)
        return
    await _close(session, row, state)
    ticket.assignee_id = None
    # Queued again now (as ``handover.release`` does): a rebuild running meanwhile re-reads tickets queued
    # after it started, so the ticket is in the new queue even if this commit's push lands in the old one.
    # The offer row keeps the first queued time for the latency figures.
    ticket.queued_at = utcnow()
    placement.place(session, ticket)  # back at its place: the score is its priority, customer tier and age
    action = {OfferState.declined: "offer_declined", OfferState.withdrawn: "offer_withdrawn"}.get(
        state, "offer_expired"
    )
    trail.record(session, ticket, actor=actor, action=action, to_tier=ticket.support_tier, reason=reason,
                 data={"offer_id": row.id, "agent": row.agent_id})  # fmt: skip
    after_commit(session, WakeAssigner(row.tier))


async def _close(session: AsyncSession, row: AssignmentOffer, state: OfferState) -> None:
    row.state = state
    row.answered_at = utcnow()
    session.add(row)
    await session.flush()
    # Every page of the agent drops the offer's banner (answered on another page, timed out, withdrawn).
    after_commit(session, live(agent_topic(row.agent_id), "offer_gone", {"ticket_id": row.ticket_id, "state": state}))
