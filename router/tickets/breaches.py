"""What an SLA timer does to a ticket when it fires: warn, or breach and run the policy's actions.

These are ticket state changes (an escalation, a raised priority), so they live with the ticket service
and go through its door; ``router/sla/`` keeps the clocks, the policies and the breach bookkeeping.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.columns import utcnow
from router.models.notifications import NotificationKind
from router.models.tickets import OPEN_STATUSES, Ticket
from router.notifications import service as notifications
from router.sla import service as sla
from router.tickets import notices, trail
from router.tickets import service as tickets
from router.tickets.actors import Actor
from router.tierqueues import placement
from rules.vocabulary import MAX_SUPPORT_TIER, PRIORITIES, VENDOR_TIER


async def sla_check(session: AsyncSession, ticket_id: int, kind: str, generation: int) -> str:
    """A clock's timer fired: warn, or breach and run the policy's actions. Idempotent: a repeated or stale
    timer (another generation, a stopped or paused clock) changes nothing."""
    ticket = await tickets.get(session, ticket_id, lock=True)
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
            await notices.sla_reached(session, ticket, kind, breached=False)
            return "warned"
    actions = sla.breach(session, ticket, clock, now)
    await notices.sla_reached(session, ticket, kind, breached=True)
    for action in actions:
        await _breach_action(session, ticket, action, kind, actions)
    return "breached"


async def _breach_action(
    session: AsyncSession, ticket: Ticket, action: str, kind: str, actions: tuple[str, ...]
) -> None:
    tier = ticket.support_tier
    if action == "escalate_to_vendor" and "escalate" in actions:
        return  # the permission for the escalate step, which runs on its own
    if action in ("escalate", "escalate_to_vendor") and tier == VENDOR_TIER - 1 and "escalate_to_vendor" not in actions:
        # Tier 4 is an outside vendor: a breach never sends the customer's words there unless the policy says so.
        trail.record(
            session,
            ticket,
            actor=sla.ACTOR,
            action="sla_escalation_skipped",
            to_tier=tier,
            reason=f"automatic escalation into tier {VENDOR_TIER} (an outside vendor) needs escalate_to_vendor "
            "in the policy's on_breach",
            touch=False,
        )
        if "raise_priority" not in actions:
            _raise_priority(session, ticket, kind)
        return
    if action == "notify_lead":
        await _notify_leads(session, ticket, kind, actions)
    elif action == "raise_priority":
        _raise_priority(session, ticket, kind)
    elif action in ("escalate", "escalate_to_vendor"):
        if tier is None or tier >= MAX_SUPPORT_TIER or ticket.status not in OPEN_STATUSES:
            reason = f"already at tier {MAX_SUPPORT_TIER}" if tier == MAX_SUPPORT_TIER else f"ticket is {ticket.status}"
            trail.record(
                session,
                ticket,
                actor=sla.ACTOR,
                action="sla_escalation_skipped",
                to_tier=tier,
                reason=reason,
                touch=False,
            )
            return
        reason = f"SLA {kind.replace('_', ' ')} breached in tier {tier}"
        await tickets.escalate(session, ticket, Actor.sla(), reason=reason, cause="sla")


async def _notify_leads(session: AsyncSession, ticket: Ticket, kind: str, actions: tuple[str, ...]) -> None:
    """Each lead of the ticket's tier gets a notification (My queues banner, API) and a mail; the audit
    event names who was notified."""
    tier = ticket.support_tier
    leads = await notifications.leads_of_tier(session, tier) if tier is not None else []
    clock = next((c for c in await sla.clocks(session, ticket, [kind])), None)
    payload = {
        "ref": ticket.ref,
        "subject": ticket.subject,
        "clock": kind,
        "support_tier": tier,
        "priority": ticket.priority,
        "policy": clock.policy if clock else None,
        "actions": list(actions),
    }
    await notifications.notify(session, leads, kind=NotificationKind.sla_breach, ticket=ticket, payload=payload)
    trail.record(
        session,
        ticket,
        actor=sla.ACTOR,
        action="lead_notified",
        to_tier=tier,
        data={"clock": kind, "leads": [lead.id for lead in leads]},
        touch=False,
    )


def _raise_priority(session: AsyncSession, ticket: Ticket, kind: str) -> None:
    """One step up (never past urgent); a queued ticket moves up its queue."""
    index = PRIORITIES.index(ticket.priority) if ticket.priority in PRIORITIES else 0
    if index >= len(PRIORITIES) - 1:
        return
    before, ticket.priority = ticket.priority, PRIORITIES[index + 1]
    placement.place(session, ticket)
    trail.record(
        session,
        ticket,
        actor=sla.ACTOR,
        action="priority_raised",
        to_tier=ticket.support_tier,
        data={"from": before, "to": ticket.priority, "clock": kind},
        touch=False,
    )
