"""The one door for ticket state changes.

Every function here changes a ticket and appends its audit event in the caller's transaction, and
records the Redis effects (queue moves, jobs) to apply after the commit. Routes, jobs and the CLI call
these functions; none of them edits a ticket row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import service as audit
from router.effects import PlaceInQueue, RemoveFromQueue, after_commit, automation_job, mail_job, route_job
from router.errors import Conflict, Forbidden, NotFound
from router.events import service as events
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.sla import ClockKind
from router.models.tickets import OPEN_STATUSES, Attachment, Direction, Message, Status, Ticket
from router.sla import service as sla
from router.tierqueues.ordering import created_ms, queue_score
from rules import PRIORITIES, Decision

MAX_TIER = 4


@dataclass(frozen=True)
class StoredAttachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True)
class MailDetails:
    """What an email adds to a message beyond its text: HTML, ids for threading, the raw copy, files."""

    html: str | None = None
    message_id_header: str | None = None
    raw_sha256: str | None = None
    attachments: tuple[StoredAttachment, ...] = ()


@dataclass(frozen=True)
class TicketContext:
    """What the sender told us about the ticket beyond its words; rules may route on all of it."""

    recipient: str | None = None
    product: str | None = None
    component: str | None = None
    service: str | None = None
    tags: tuple[str, ...] = ()
    #: The first mail asked not to be auto-answered (list, loop or auto-reply headers).
    auto_reply_suppressed: bool = False


@dataclass(frozen=True)
class Actor:
    """Who acts: an agent (permissions apply) or the system itself (``system``, ``sla``, ``rule:...``)."""

    name: str
    agent: Agent | None = None

    @classmethod
    def of(cls, agent: Agent) -> Actor:
        return cls(f"agent:{agent.id}", agent)

    @classmethod
    def system(cls) -> Actor:
        return cls("system")

    @classmethod
    def sla(cls) -> Actor:
        """The SLA engine: acts in every tier, like the system."""
        return cls(sla.ACTOR)

    @property
    def is_lead(self) -> bool:
        return self.agent is None or self.agent.role in ("lead", "admin")


def require_tier(actor: Actor, tier: int | None) -> None:
    """Agents act only on tickets of the tiers they work; leads, admins and the system anywhere."""
    if actor.agent is not None and tier is not None and not actor.agent.works_tier(tier):
        raise Forbidden(f"you do not work support tier {tier}", tier=tier)


async def get(session: AsyncSession, ticket_id: int, *, lock: bool = False) -> Ticket:
    """Load a ticket; ``lock`` takes its row lock (PostgreSQL) so concurrent changes queue up."""
    query = select(Ticket).where(Ticket.id == ticket_id)
    if lock:
        query = query.with_for_update()
    ticket = (await session.exec(query)).first()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist", ticket_id=ticket_id)
    return ticket


def _touch(ticket: Ticket) -> None:
    ticket.updated_at = utcnow()


def _enqueue(session: AsyncSession, ticket: Ticket, tier: int, *, automate: bool = True) -> None:
    """Put the ticket in ``tier``'s queue (status queued, nobody assigned), optionally with tier automation."""
    assert ticket.id is not None
    if tier == MAX_TIER and ticket.support_tier != MAX_TIER:
        # Tier 4 is an outside vendor: the handoff is published (signed webhook) once this commits.
        events.emit(session, ticket, "ticket.vendor_handoff", {"vendor": (ticket.decision or {}).get("vendor")})
    ticket.support_tier = tier
    ticket.status = Status.queued
    ticket.assignee_id = None
    ticket.queued_at = utcnow()
    ticket.automation_tier = tier if automate else None
    score = queue_score(ticket.priority, ticket.customer_tier, ticket.created_at)
    after_commit(session, PlaceInQueue(tier, ticket.id, score, created_ms(ticket.created_at)))
    if automate:
        after_commit(session, automation_job(ticket.id, tier))


def _dequeue(session: AsyncSession, ticket: Ticket) -> None:
    assert ticket.id is not None
    if ticket.status == Status.queued and ticket.support_tier is not None:
        after_commit(session, RemoveFromQueue(ticket.support_tier, ticket.id))


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
) -> Ticket:
    """Create a ticket with its first message and ``created`` event; routing runs after the commit."""
    ticket = Ticket(
        auto_reply_suppressed=context.auto_reply_suppressed,
        recipient=context.recipient,
        product=context.product,
        component=context.component,
        service=context.service,
        tags=list(context.tags),
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
    ticket.ref = f"T-{ticket.id:06d}"
    await _add_message(session, ticket.id, Direction.inbound, requester_email, body, mail or MailDetails())
    audit.append(
        session,
        ticket,
        actor=actor.name,
        action="created",
        data={
            "channel": channel,
            "source": source,
            "external_id": external_id,
            "customer_tier": customer_tier,
        },
    )
    events.emit(session, ticket, "ticket.created", {"channel": channel, "source": source, "external_id": external_id})
    after_commit(session, route_job(ticket.id))
    return ticket


async def _add_message(
    session: AsyncSession,
    ticket_id: int,
    direction: str,
    author: str,
    body: str,
    mail: MailDetails,
    kind: str = "message",
) -> Message:
    message = Message(
        ticket_id=ticket_id,
        direction=direction,
        kind=kind,
        author=author,
        body_text=body,
        body_html=mail.html,
        message_id_header=mail.message_id_header,
        raw_sha256=mail.raw_sha256,
    )
    session.add(message)
    await session.flush()
    assert message.id is not None
    for a in mail.attachments:
        session.add(
            Attachment(
                message_id=message.id,
                filename=a.filename[:255],
                content_type=a.content_type[:255],
                size=a.size,
                sha256=a.sha256,
                inline=a.inline,
                content_id=a.content_id[:255] if a.content_id else None,
            )
        )
    return message


async def add_inbound(
    session: AsyncSession, ticket: Ticket, *, author: str, body: str, mail: MailDetails, kind: str = "message"
) -> Message:
    """A requester's reply (reopens a resolved ticket), or an automatic mail about it (``kind`` names it)."""
    assert ticket.id is not None
    message = await _add_message(session, ticket.id, Direction.inbound, author, body, mail, kind)
    reopened = False
    if kind == "message" and ticket.status in (Status.resolved, Status.closed) and ticket.support_tier is not None:
        ticket.reopen_count += 1
        ticket.resolved_at = None
        _enqueue(session, ticket, ticket.support_tier, automate=False)
        audit.append(
            session,
            ticket,
            actor=f"requester:{author}"[:100],
            action="reopened",
            to_tier=ticket.support_tier,
            reason="the requester replied",
        )
        reopened = True
    if kind == "message" and ticket.status == Status.waiting_on_customer:
        await _resume(session, ticket, actor=f"requester:{author}"[:100], reason="the requester replied")
    changes: sla.Changes = []
    if kind == "message" and ticket.support_tier is not None:
        changes = await _sla_customer_replied(session, ticket, reopened=reopened)
    action = "customer_replied" if kind == "message" else f"{kind}_received"
    data = _with_sla({"chars": len(body)}, changes)
    audit.append(session, ticket, actor=f"requester:{author}"[:100], action=action, data=data)
    if kind == "message":
        events.emit(session, ticket, "ticket.commented", {"author": author, "direction": "inbound"})
    _touch(ticket)
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
    changes = await sla.start(session, ticket, [ClockKind.first_response, ClockKind.resolution], now)
    changes += await sla.sync_pause(session, ticket, now)
    audit.append(
        session,
        ticket,
        # The actor names the deciding rule (the first that matched); all of them are in ``data``.
        actor=f"rule:{rule_ids[0]}"[:100] if rule_ids else "rule:defaults",
        action="routed",
        to_tier=decision.support_tier,
        data=_with_sla(
            {"priority": decision.priority, "rules": rule_ids, "rulebook_version": decision.rulebook_version}, changes
        ),
    )
    events.emit(session, ticket, "ticket.routed", {"support_tier": decision.support_tier, "rules": rule_ids})
    _touch(ticket)
    return True


def _with_sla(data: dict[str, Any], changes: sla.Changes) -> dict[str, Any]:
    """The audit event of an action carries the SLA clock changes it caused."""
    return {**data, "sla": changes} if changes else data


async def _sla_customer_replied(session: AsyncSession, ticket: Ticket, *, reopened: bool) -> sla.Changes:
    """A reopened ticket's resolution clock starts again; once the first response is given, every new
    requester message starts a next-response clock (unless one is already counting)."""
    now = utcnow()
    changes = await sla.start(session, ticket, [ClockKind.resolution], now) if reopened else []
    found = {c.kind: c for c in await sla.clocks(session, ticket, [ClockKind.first_response, ClockKind.next_response])}
    first, following = found.get(ClockKind.first_response), found.get(ClockKind.next_response)
    if first is not None and not sla.is_live(first) and (following is None or not sla.is_live(following)):
        changes += await sla.start(session, ticket, [ClockKind.next_response], now)
    return changes + await sla.sync_pause(session, ticket, now)


async def record_automation(session: AsyncSession, ticket: Ticket, *, tier: int, kind: str, body: str) -> bool:
    """Record what tier automation sent the requester; a repeated job for the same tier does nothing."""
    if ticket.automation_tier != tier:
        return False
    assert ticket.id is not None
    ticket.automation_tier = None
    message = Message(
        ticket_id=ticket.id,
        direction=Direction.outbound,
        kind=kind,
        author="system",
        body_text=body,
        delivery_status="pending",
    )
    session.add(message)
    await session.flush()
    assert message.id is not None
    after_commit(session, mail_job(message.id))
    audit.append(session, ticket, actor="system", action="automation", to_tier=tier, data={"kind": kind})
    _touch(ticket)
    return True


async def skip_automation(session: AsyncSession, ticket: Ticket, *, tier: int, reason: str) -> bool:
    """Tier automation decided to stay quiet; the decision is audited."""
    if ticket.automation_tier != tier:
        return False
    ticket.automation_tier = None
    audit.append(session, ticket, actor="system", action="automation_skipped", to_tier=tier, reason=reason)
    _touch(ticket)
    return True


async def claim(session: AsyncSession, ticket: Ticket, agent: Agent) -> bool:
    """Assign a queued ticket to ``agent``; False when someone else got it first (a stale queue entry)."""
    if ticket.status != Status.queued or ticket.assignee_id is not None:
        return False
    require_tier(Actor.of(agent), ticket.support_tier)
    ticket.status = Status.in_progress
    ticket.assignee_id = agent.id
    changes = await sla.sync_pause(session, ticket, utcnow())
    audit.append(
        session,
        ticket,
        actor=Actor.of(agent).name,
        action="claimed",
        to_tier=ticket.support_tier,
        data=_with_sla({}, changes),
    )
    _touch(ticket)
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
    require_tier(actor, ticket.support_tier)
    if ticket.status not in OPEN_STATUSES or ticket.support_tier is None:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}; only routed open tickets can be escalated")
    current = ticket.support_tier
    target = current + 1 if to_tier is None else to_tier
    if current >= MAX_TIER and to_tier is None:
        raise Conflict(f"ticket {ticket.ref} is already at tier {MAX_TIER}, the highest", tier=current)
    if target <= current or target > MAX_TIER:
        raise Conflict(f"escalation goes up: choose a tier above {current} and at most {MAX_TIER}", to_tier=target)
    _dequeue(session, ticket)
    ticket.escalation_count += 1
    _enqueue(session, ticket, target)
    changes = await _sla_tier_changed(session, ticket)
    audit.append(
        session,
        ticket,
        actor=actor.name,
        action="escalated",
        from_tier=current,
        to_tier=target,
        reason=reason,
        data=_with_sla({"cause": cause}, changes),
    )
    events.emit(
        session, ticket, "ticket.escalated", {"from_tier": current, "to_tier": target, "reason": reason, "cause": cause}
    )
    _touch(ticket)
    return ticket


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
    if target < 0 or target >= current:
        raise Conflict(f"de-escalation goes down: choose a tier below {current} and at least 0", to_tier=target)
    _dequeue(session, ticket)
    _enqueue(session, ticket, target)
    changes = await _sla_tier_changed(session, ticket)
    audit.append(
        session,
        ticket,
        actor=actor.name,
        action="deescalated",
        from_tier=current,
        to_tier=target,
        reason=reason,
        data=_with_sla({}, changes),
    )
    events.emit(session, ticket, "ticket.deescalated", {"from_tier": current, "to_tier": target, "reason": reason})
    _touch(ticket)
    return ticket


async def resolve(session: AsyncSession, ticket: Ticket, actor: Actor, *, resolution: str | None) -> Ticket:
    require_tier(actor, ticket.support_tier)
    if ticket.status not in OPEN_STATUSES:
        raise Conflict(f"ticket {ticket.ref} is already {ticket.status}")
    _dequeue(session, ticket)
    previous = ticket.status
    ticket.status = Status.resolved
    ticket.resolved_at = utcnow()
    ticket.automation_tier = None
    # Resolving stops every clock: the resolution answers any response still owed.
    changes = await sla.stop(session, ticket, list(ClockKind), utcnow())
    audit.append(
        session,
        ticket,
        actor=actor.name,
        action="resolved",
        from_tier=ticket.support_tier,
        to_tier=ticket.support_tier,
        reason=resolution,
        data=_with_sla({"from_status": previous}, changes),
    )
    events.emit(session, ticket, "ticket.resolved", {"resolution": resolution, "by": actor.name})
    _touch(ticket)
    return ticket


async def reopen(session: AsyncSession, ticket: Ticket, actor: Actor, *, reason: str | None) -> Ticket:
    """Put a resolved or closed ticket back in its tier's queue."""
    require_tier(actor, ticket.support_tier)
    if ticket.status not in (Status.resolved, Status.closed) or ticket.support_tier is None:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}; only resolved or closed tickets reopen")
    ticket.reopen_count += 1
    ticket.resolved_at = None
    # A reopened ticket is not acknowledged again by automation.
    _enqueue(session, ticket, ticket.support_tier, automate=False)
    now = utcnow()
    changes = await sla.start(session, ticket, [ClockKind.resolution], now) + await sla.sync_pause(session, ticket, now)
    audit.append(
        session,
        ticket,
        actor=actor.name,
        action="reopened",
        to_tier=ticket.support_tier,
        reason=reason,
        data=_with_sla({}, changes),
    )
    events.emit(session, ticket, "ticket.reopened", {"reason": reason, "by": actor.name})
    _touch(ticket)
    return ticket


async def wait_on_customer(session: AsyncSession, ticket: Ticket, actor: Actor, *, reason: str | None) -> Ticket:
    """The agent needs the requester's answer: the ticket leaves the queue (SLA clocks pause) until they reply."""
    require_tier(actor, ticket.support_tier)
    if ticket.status not in (Status.queued, Status.in_progress) or ticket.support_tier is None:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}; only queued or in-progress tickets can wait")
    _dequeue(session, ticket)
    previous = ticket.status
    ticket.status = Status.waiting_on_customer
    if previous == Status.queued:
        ticket.assignee_id = None
    changes = await sla.sync_pause(session, ticket, utcnow())
    audit.append(
        session,
        ticket,
        actor=actor.name,
        action="waiting_on_customer",
        to_tier=ticket.support_tier,
        reason=reason,
        data=_with_sla({"from_status": previous}, changes),
    )
    _touch(ticket)
    return ticket


async def _resume(session: AsyncSession, ticket: Ticket, *, actor: str, reason: str) -> None:
    """A waiting ticket goes back to its agent, or to its tier's queue when nobody holds it."""
    assert ticket.support_tier is not None
    if ticket.assignee_id is not None:
        ticket.status = Status.in_progress
    else:
        _enqueue(session, ticket, ticket.support_tier, automate=False)
    audit.append(
        session,
        ticket,
        actor=actor,
        action="resumed",
        to_tier=ticket.support_tier,
        reason=reason,
        data={"status": ticket.status},
    )


async def add_message(session: AsyncSession, ticket: Ticket, actor: Actor, *, body: str, internal: bool) -> Message:
    """An agent's reply (outbound, sent by the mailer) or internal note; both are audited."""
    require_tier(actor, ticket.support_tier)
    assert ticket.id is not None
    message = Message(
        ticket_id=ticket.id,
        direction=Direction.note if internal else Direction.outbound,
        author=actor.name,
        body_text=body,
        delivery_status=None if internal else "pending",
    )
    session.add(message)
    if not internal:
        await session.flush()
        assert message.id is not None
        after_commit(session, mail_job(message.id))
    # A public reply answers the first (or next) response the ticket owes.
    responses = [ClockKind.first_response, ClockKind.next_response]
    changes = [] if internal else await sla.stop(session, ticket, responses, utcnow())
    audit.append(
        session,
        ticket,
        actor=actor.name,
        action="note_added" if internal else "replied",
        to_tier=ticket.support_tier,
        data=_with_sla({"chars": len(body)}, changes),
    )
    if not internal:
        events.emit(session, ticket, "ticket.commented", {"author": actor.name, "direction": "outbound"})
    _touch(ticket)
    return message


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
    _dequeue(session, ticket)
    if ticket.status == Status.queued:
        ticket.status = Status.in_progress
    ticket.assignee_id = agent.id
    audit.append(
        session,
        ticket,
        actor=actor.name,
        action="reassigned",
        to_tier=ticket.support_tier,
        reason=reason,
        data={"from_agent": previous, "to_agent": agent.id},
    )
    _touch(ticket)
    return ticket


async def mark_sent(session: AsyncSession, message: Message, *, message_id_header: str) -> bool:
    """The mailer handed the message to the SMTP server; False if it was already marked."""
    if message.delivery_status == "sent":
        return False
    ticket = await get(session, message.ticket_id, lock=True)
    message.delivery_status = "sent"
    message.delivery_error = None
    message.message_id_header = message_id_header
    audit.append(session, ticket, actor="system", action="mail_sent", data={"message": message.id})
    return True


async def note_send_failure(session: AsyncSession, message: Message, *, error: str, final: bool) -> None:
    """A failed attempt is visible on the ticket; the last one marks the message failed."""
    ticket = await get(session, message.ticket_id, lock=True)
    message.delivery_error = error[:500]
    if final:
        message.delivery_status = "failed"
    audit.append(
        session,
        ticket,
        actor="system",
        action="mail_failed" if final else "mail_attempt_failed",
        reason=error[:500],
        data={"message": message.id},
    )


async def record_vendor_update(
    session: AsyncSession,
    ticket: Ticket,
    actor: Actor,
    *,
    status: str | None,
    vendor_ref: str | None,
    body: str | None,
) -> Ticket:
    """A vendor reports progress (their status and case number): an internal note and an audit event."""
    assert ticket.id is not None
    if body:
        session.add(Message(ticket_id=ticket.id, direction=Direction.note, author=actor.name, body_text=body))
    audit.append(
        session,
        ticket,
        actor=actor.name,
        action="vendor_updated",
        to_tier=ticket.support_tier,
        data={"status": status, "vendor_ref": vendor_ref},
    )
    _touch(ticket)
    return ticket


def record_handoff(
    session: AsyncSession, ticket: Ticket, *, vendor: str | None, delivery_id: int | None, reason: str | None = None
) -> None:
    """The tier-4 handoff was queued for ``vendor`` (or could not be: no vendor fits)."""
    audit.append(
        session,
        ticket,
        actor="system",
        action="vendor_handoff" if vendor else "vendor_handoff_skipped",
        to_tier=ticket.support_tier,
        reason=None if vendor else reason or "no vendor is configured for this ticket",
        data={"vendor": vendor, "delivery": delivery_id},
    )


def record_handoff_attempt(
    session: AsyncSession,
    ticket: Ticket,
    *,
    vendor: str,
    delivery_id: int,
    attempt: int,
    error: str | None,
    final: bool,
) -> None:
    """Every attempt to reach the vendor is on the ticket: delivered, failed and retried, or given up."""
    if error is None:
        action = "vendor_delivered"
    else:
        action = "vendor_delivery_failed" if final else "vendor_delivery_attempt_failed"
    audit.append(
        session,
        ticket,
        actor="system",
        action=action,
        to_tier=ticket.support_tier,
        reason=error,
        data={"vendor": vendor, "delivery": delivery_id, "attempt": attempt},
    )


async def sla_check(session: AsyncSession, ticket_id: int, kind: str, generation: int) -> str:
    """A clock's timer fired: warn, or breach and run the policy's actions. Idempotent: a repeated or stale
    timer (another generation, a stopped or paused clock) changes nothing."""
    ticket = await get(session, ticket_id, lock=True)
    clock = await sla.due_clock(session, ticket, kind, generation)
    if clock is None or clock.next_at is None:
        return "stale"
    now = utcnow()
    if clock.next_at > now:
        sla.reschedule(session, clock)
        return "early"
    if clock.state == "ok":
        sla.warn(session, ticket, clock, now)
        if clock.due_at is None or clock.due_at > now:
            return "warned"
    for action in sla.breach(session, ticket, clock, now):
        await _breach_action(session, ticket, action, kind)
    return "breached"


async def _breach_action(session: AsyncSession, ticket: Ticket, action: str, kind: str) -> None:
    tier = ticket.support_tier
    if action == "notify_lead":
        audit.append(session, ticket, actor=sla.ACTOR, action="lead_notified", to_tier=tier, data={"clock": kind})
    elif action == "raise_priority":
        _raise_priority(session, ticket, kind)
    elif action == "escalate":
        if tier is None or tier >= MAX_TIER or ticket.status not in OPEN_STATUSES:
            reason = f"already at tier {MAX_TIER}" if tier == MAX_TIER else f"ticket is {ticket.status}"
            audit.append(session, ticket, actor=sla.ACTOR, action="sla_escalation_skipped", to_tier=tier, reason=reason)
            return
        reason = f"SLA {kind.replace('_', ' ')} breached in tier {tier}"
        await escalate(session, ticket, Actor.sla(), reason=reason, cause="sla")


def _raise_priority(session: AsyncSession, ticket: Ticket, kind: str) -> None:
    """One step up (never past urgent); a queued ticket moves up its queue."""
    index = PRIORITIES.index(ticket.priority) if ticket.priority in PRIORITIES else 0
    if index >= len(PRIORITIES) - 1:
        return
    before, ticket.priority = ticket.priority, PRIORITIES[index + 1]
    if ticket.status == Status.queued and ticket.support_tier is not None and ticket.id is not None:
        score = queue_score(ticket.priority, ticket.customer_tier, ticket.created_at)
        after_commit(session, PlaceInQueue(ticket.support_tier, ticket.id, score, created_ms(ticket.created_at)))
    audit.append(
        session,
        ticket,
        actor=sla.ACTOR,
        action="priority_raised",
        to_tier=ticket.support_tier,
        data={"from": before, "to": ticket.priority, "clock": kind},
    )
