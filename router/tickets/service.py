"""The one door for ticket state changes.

Every function here changes a ticket and appends its audit event in the caller's transaction (through
``trail.record``), and records the Redis effects (queue moves, jobs) to apply after the commit. Routes,
jobs and the CLI call these functions; none of them edits a ticket row. The door has rooms beside it in
this package: ``messages`` (replies, notes, automation's mail), ``breaches`` (what an SLA breach does to a
ticket), ``delivery`` (outbound mail and vendor handoff bookkeeping), ``actors`` (who acts, tier checks),
``inputs`` (what callers hand in) and ``trail`` (the audit-plus-outbox tail every change ends with).
"""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import WakeAssigner, after_commit, automation_job, route_job
from router.errors import Conflict, Forbidden, NotFound
from router.events import service as events
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.sla import ClockKind
from router.models.tickets import OPEN_STATUSES, Direction, Message, Status, Ticket, ticket_ref
from router.sla import service as sla
from router.tickets import messages, notices, trail
from router.tickets.actors import Actor, require_may_act
from router.tickets.inputs import MailDetails, TicketContext
from router.tierqueues import placement
from rules import Decision
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER, VENDOR_TIER


async def get(session: AsyncSession, ticket_id: int, *, lock: bool = False) -> Ticket:
    """Load a ticket; ``lock`` takes its row lock (PostgreSQL) so concurrent changes queue up."""
    query = select(Ticket).where(Ticket.id == ticket_id)
    if lock:
        query = query.with_for_update()
    ticket = (await session.exec(query)).first()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist", ticket_id=ticket_id)
    return ticket


def _freed(session: AsyncSession, ticket: Ticket) -> None:
    """The ticket leaves its holder's load in its tier: a pushing tier's assigner may offer them more."""
    if ticket.assignee_id is not None and ticket.support_tier is not None:
        after_commit(session, WakeAssigner(ticket.support_tier))


def _enqueue(session: AsyncSession, ticket: Ticket, tier: int, *, automate: bool = True) -> None:
    """Put the ticket in ``tier``'s queue (status queued, nobody assigned), optionally with tier automation."""
    assert ticket.id is not None
    if tier == VENDOR_TIER and ticket.support_tier != VENDOR_TIER:
        # The vendor tier is an outside vendor: the handoff is published (signed webhook) once this commits.
        events.emit(session, ticket, "ticket.vendor_handoff", {"vendor": (ticket.decision or {}).get("vendor")})
    ticket.support_tier = tier
    ticket.status = Status.queued
    ticket.assignee_id = None
    ticket.queued_at = utcnow()
    ticket.automation_tier = tier if automate else None
    placement.place(session, ticket)
    if automate:
        after_commit(session, automation_job(ticket.id, tier))


async def open_ticket(
    session: AsyncSession,
    *,
    subject: str,
    body: str,
    requester_email: str,
    customer_id: int | None,
    customer_tier: int,
    priority_hint: str | None,
    channel: str,
    source: str,
    external_id: str | None,
    actor: Actor,
    context: TicketContext,
    mail: MailDetails | None = None,
    route_after_commit: bool = True,
) -> Ticket:
    """Create a ticket with its first message and ``created`` event. Unless the caller routes it in the
    same transaction (``route_after_commit=False``), the ``ticket.route`` job routes it after the commit."""
    ticket = Ticket(
        auto_reply_suppressed=context.auto_reply_suppressed,
        recipient=context.recipient,
        product=context.product,
        component=context.component,
        service=context.service,
        tags=list(context.tags),
        cc=list(context.cc),
        subject=subject[:500],
        requester_email=requester_email[:320],
        customer_id=customer_id,
        customer_tier=customer_tier,
        priority_hint=priority_hint,
        priority=priority_hint or "normal",
        channel=channel,
        source=source,
        external_id=external_id,
    )
    session.add(ticket)
    await session.flush()
    assert ticket.id is not None
    ticket.ref = ticket_ref(ticket.id)
    await messages.store(session, ticket.id, Direction.inbound, requester_email, body, mail or MailDetails())
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="created",
        data={"channel": channel, "source": source, "external_id": external_id, "customer_tier": customer_tier},
        event="ticket.created",
        event_data={"channel": channel, "source": source, "external_id": external_id},
        touch=False,
    )
    if route_after_commit:
        after_commit(session, route_job(ticket.id))
    return ticket


async def add_inbound(
    session: AsyncSession, ticket: Ticket, *, author: str, body: str, mail: MailDetails, kind: str = "message"
) -> Message:
    """A requester's reply (reopens a resolved ticket), or an automatic mail about it (``kind`` names it)."""
    assert ticket.id is not None
    message = await messages.store(session, ticket.id, Direction.inbound, author, body, mail, kind)
    requester = f"requester:{author}"[:100]
    reopened = False
    if kind == "message" and ticket.status in (Status.resolved, Status.closed) and ticket.support_tier is not None:
        ticket.reopen_count += 1
        ticket.resolved_at = None
        _enqueue(session, ticket, ticket.support_tier, automate=False)
        trail.record(
            session,
            ticket,
            actor=requester,
            action="reopened",
            to_tier=ticket.support_tier,
            reason="the requester replied",
            touch=False,
        )
        reopened = True
    if kind == "message" and ticket.status == Status.waiting_on_customer:
        await _resume(session, ticket, actor=requester, reason="the requester replied")
    changes: sla.Changes = []
    if kind == "message" and ticket.support_tier is not None:
        changes = await sla.customer_replied(session, ticket, utcnow(), reopened=reopened)
    trail.record(
        session,
        ticket,
        actor=requester,
        action="customer_replied" if kind == "message" else f"{kind}_received",
        data={"chars": len(body)},
        sla_changes=changes,
        event="ticket.commented" if kind == "message" else None,
        event_data={"author": author, "direction": "inbound"},
    )
    if kind == "message":
        await notices.requester_replied(session, ticket, author)
    return message


async def apply_routing(session: AsyncSession, ticket: Ticket, decision: Decision) -> bool:
    """Store the rulebook's decision and queue the ticket; a ticket already routed is left alone."""
    if ticket.status != Status.new:
        return False
    ticket.priority = decision.priority
    ticket.severity = decision.severity
    ticket.sla_policy = decision.sla_policy
    ticket.queue_group = decision.queue_group
    ticket.tags = [*ticket.tags, *(t for t in decision.tags if t not in ticket.tags)]
    ticket.decision = decision.to_dict()
    ticket.rulebook_version = decision.rulebook_version
    rule_ids = [m.rule_id for m in decision.matched]
    _enqueue(session, ticket, decision.support_tier)
    # SLA clocks start at routing (the rulebook named the policy, or the SLA file's selection picks one).
    now = utcnow()
    changes = await sla.start(session, ticket, sla.OPENING_KINDS, now)
    changes += await sla.sync_pause(session, ticket, now)
    trail.record(
        session,
        ticket,
        # The actor names the deciding rule (the first that matched); all of them are in ``data``.
        actor=f"rule:{rule_ids[0]}"[:100] if rule_ids else "rule:defaults",
        action="routed",
        to_tier=decision.support_tier,
        data={"priority": decision.priority, "rules": rule_ids, "rulebook_version": decision.rulebook_version},
        sla_changes=changes,
        event="ticket.routed",
        event_data={"support_tier": decision.support_tier, "rules": rule_ids},
    )
    return True


async def claim(session: AsyncSession, ticket: Ticket, agent: Agent) -> bool:
    """Assign a queued ticket to ``agent``; False when someone else got it first (a stale queue entry)."""
    if ticket.status != Status.queued or ticket.assignee_id is not None:
        return False
    require_may_act(Actor.of(agent), ticket.support_tier)
    ticket.status = Status.in_progress
    ticket.assignee_id = agent.id
    changes = await sla.sync_pause(session, ticket, utcnow())
    trail.record(
        session, ticket, actor=Actor.of(agent).name, action="claimed", to_tier=ticket.support_tier, sla_changes=changes
    )
    return True


async def escalate(
    session: AsyncSession,
    ticket: Ticket,
    actor: Actor,
    *,
    reason: str,
    to_tier: int | None = None,
    cause: str = "agent",
) -> Ticket:
    """Move a ticket up to ``to_tier`` (default: the next tier) and back into that tier's queue."""
    require_may_act(actor, ticket.support_tier)
    if ticket.status not in OPEN_STATUSES or ticket.support_tier is None:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}; only routed open tickets can be escalated")
    current = ticket.support_tier
    target = current + 1 if to_tier is None else to_tier
    if current >= MAX_SUPPORT_TIER:
        raise Conflict(f"ticket {ticket.ref} is already at the top tier, tier {MAX_SUPPORT_TIER}", tier=current)
    if target <= current or target > MAX_SUPPORT_TIER:
        raise Conflict(f"escalation goes up: {_choose(current + 1, MAX_SUPPORT_TIER)}", to_tier=target)
    _freed(session, ticket)
    placement.remove(session, ticket)
    ticket.escalation_count += 1
    _enqueue(session, ticket, target)
    changes = await _sla_tier_changed(session, ticket)
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="escalated",
        from_tier=current,
        to_tier=target,
        reason=reason,
        data={"cause": cause},
        sla_changes=changes,
        event="ticket.escalated",
        event_data={"from_tier": current, "to_tier": target, "reason": reason, "cause": cause},
    )
    return ticket


def _choose(low: int, high: int) -> str:
    """The tiers a move may go to, in words (the range is never empty: the ends were checked first)."""
    if low == high:
        return f"choose tier {low}"
    return f"choose tier {low} or {high}" if high == low + 1 else f"choose a tier from {low} to {high}"


async def _sla_tier_changed(session: AsyncSession, ticket: Ticket) -> sla.Changes:
    """Clocks restart for the new tier or run on, as the policy says; the status may pause or resume them."""
    now = utcnow()
    return await sla.tier_changed(session, ticket, now) + await sla.sync_pause(session, ticket, now)


async def deescalate(
    session: AsyncSession, ticket: Ticket, actor: Actor, *, reason: str, to_tier: int | None = None
) -> Ticket:
    """Leads send a ticket back down (default: one tier) with a reason."""
    if not actor.is_lead:
        raise Forbidden("only leads and admins de-escalate")
    if ticket.status not in OPEN_STATUSES or ticket.support_tier is None:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}; only routed open tickets can be de-escalated")
    current = ticket.support_tier
    target = current - 1 if to_tier is None else to_tier
    if current <= MIN_SUPPORT_TIER:
        raise Conflict(f"ticket {ticket.ref} is already at tier {MIN_SUPPORT_TIER}, the lowest", tier=current)
    if target < MIN_SUPPORT_TIER or target >= current:
        raise Conflict(f"de-escalation goes down: {_choose(MIN_SUPPORT_TIER, current - 1)}", to_tier=target)
    _freed(session, ticket)
    placement.remove(session, ticket)
    _enqueue(session, ticket, target)
    changes = await _sla_tier_changed(session, ticket)
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="deescalated",
        from_tier=current,
        to_tier=target,
        reason=reason,
        sla_changes=changes,
        event="ticket.deescalated",
        event_data={"from_tier": current, "to_tier": target, "reason": reason},
    )
    return ticket


async def resolve(session: AsyncSession, ticket: Ticket, actor: Actor, *, resolution: str | None) -> Ticket:
    require_may_act(actor, ticket.support_tier)
    if ticket.status not in OPEN_STATUSES:
        raise Conflict(f"ticket {ticket.ref} is already {ticket.status}")
    _freed(session, ticket)
    placement.remove(session, ticket)
    previous = ticket.status
    ticket.status = Status.resolved
    ticket.resolved_at = utcnow()
    ticket.automation_tier = None
    # Resolving stops every clock; a response still owed is recorded as unanswered, not met (unless the SLA
    # policies count a resolution as the response).
    changes = await sla.stop(session, ticket, list(ClockKind), utcnow(), action="resolved")
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="resolved",
        from_tier=ticket.support_tier,
        to_tier=ticket.support_tier,
        reason=resolution,
        data={"from_status": previous},
        sla_changes=changes,
        event="ticket.resolved",
        event_data={"resolution": resolution, "by": actor.name},
    )
    return ticket


async def reopen(session: AsyncSession, ticket: Ticket, actor: Actor, *, reason: str | None) -> Ticket:
    """Put a resolved or closed ticket back in its tier's queue."""
    require_may_act(actor, ticket.support_tier)
    if ticket.status not in (Status.resolved, Status.closed) or ticket.support_tier is None:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}; only resolved or closed tickets reopen")
    # A reopened ticket is not acknowledged again by automation.
    _enqueue(session, ticket, ticket.support_tier, automate=False)
    await messages.record_reopen(session, ticket, actor, reason=reason)
    return ticket


async def wait_on_customer(session: AsyncSession, ticket: Ticket, actor: Actor, *, reason: str | None) -> Ticket:
    """The agent needs the requester's answer: the ticket leaves the queue (SLA clocks pause) until they reply."""
    require_may_act(actor, ticket.support_tier)
    if ticket.status not in (Status.queued, Status.in_progress) or ticket.support_tier is None:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}; only queued or in-progress tickets can wait")
    _freed(session, ticket)
    placement.remove(session, ticket)
    previous = ticket.status
    ticket.status = Status.waiting_on_customer
    if previous == Status.queued:
        ticket.assignee_id = None
    changes = await sla.sync_pause(session, ticket, utcnow())
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="waiting_on_customer",
        to_tier=ticket.support_tier,
        reason=reason,
        data={"from_status": previous},
        sla_changes=changes,
    )
    return ticket


async def _resume(session: AsyncSession, ticket: Ticket, *, actor: str, reason: str) -> None:
    """A waiting ticket goes back to its agent, or to its tier's queue when nobody holds it."""
    assert ticket.support_tier is not None
    if ticket.assignee_id is not None:
        ticket.status = Status.in_progress
    else:
        _enqueue(session, ticket, ticket.support_tier, automate=False)
    trail.record(
        session,
        ticket,
        actor=actor,
        action="resumed",
        to_tier=ticket.support_tier,
        reason=reason,
        data={"status": ticket.status},
        touch=False,
    )


async def reassign(session: AsyncSession, ticket: Ticket, actor: Actor, agent: Agent, *, reason: str) -> Ticket:
    """Leads hand an open ticket to ``agent`` (who must work its tier); a queued ticket leaves the queue."""
    if not actor.is_lead:
        raise Forbidden("only leads and admins reassign tickets")
    if ticket.status not in OPEN_STATUSES or ticket.support_tier is None:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}; only routed open tickets can be reassigned")
    if not agent.active or not agent.works_tier(ticket.support_tier):
        raise Conflict(f"{agent.name} does not work support tier {ticket.support_tier}", agent_id=agent.id)
    if ticket.assignee_id == agent.id:
        raise Conflict(f"ticket {ticket.ref} is already assigned to {agent.name}", agent_id=agent.id)
    previous = ticket.assignee_id
    placement.remove(session, ticket)
    if ticket.status == Status.queued:
        ticket.status = Status.in_progress
    ticket.assignee_id = agent.id
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="reassigned",
        to_tier=ticket.support_tier,
        reason=reason,
        data={"from_agent": previous, "to_agent": agent.id},
    )
    await notices.assigned(session, ticket, agent, actor)
    return ticket
