"""A new ticket's rows, routed, built in memory: what ``opening.open_batch`` inserts.

Everything ``service.open_ticket`` and ``service.apply_routing`` would write through the ORM, as plain rows:
the ticket (decision stored, queued in its tier), its first message, its ``created`` and ``routed`` audit
events (hash-chained), its SLA clocks and timers, its outbox events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit.chain import Entry, chain_rows, state_of
from router.audit.keys import keyring_of
from router.events.service import new_event_id
from router.models.customers import Customer
from router.models.tickets import Direction, Status, ticket_ref
from router.sla import service as sla
from router.sla.policies import policies_of
from router.tickets.inputs import NewTicket
from rules import AttachmentInfo, Decision, Rulebook, Snapshot
from rules.vocabulary import VENDOR_TIER

log = structlog.get_logger(__name__)


@dataclass
class Draft:
    """One ticket being built: its rows, and what to do after the commit."""

    index: int
    item: NewTicket
    ticket: dict[str, Any]
    message: dict[str, Any]
    audit: list[dict[str, Any]]
    clocks: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    timers: list[Any]
    routed: bool


def snapshot(item: NewTicket, customer: Customer | None, customer_tier: int, now: datetime) -> Snapshot:
    """What the rules see of a ticket just opened (``routing.snapshots`` reads the same from the database)."""
    c = item.context
    return Snapshot(
        subject=item.subject[:500],
        body=item.body,
        sender=item.requester_email,
        customer_tier=customer_tier,
        channel=item.channel,
        source=item.source,
        recipient=c.recipient,
        priority_hint=item.priority_hint,
        customer_ref=customer.external_ref if customer else None,
        attributes=customer.attributes if customer else {},
        product=c.product,
        component=c.component,
        service=c.service,
        tags=tuple(c.tags),
        attachments=tuple(AttachmentInfo(a.filename, a.content_type) for a in item.mail.attachments),
        message_count=1,
        reopen_count=0,
        received_at=now,
    )


def draft(
    session: AsyncSession,
    index: int,
    item: NewTicket,
    customer: Customer | None,
    ticket_id: int,
    now: datetime,
    rulebook: Rulebook,
) -> Draft:
    customer_tier = customer.value_tier if customer else item.default_customer_tier
    c = item.context
    ticket: dict[str, Any] = {
        "id": ticket_id,
        "ref": ticket_ref(ticket_id),
        "subject": item.subject[:500],
        "status": Status.new,
        "support_tier": None,
        "priority": item.priority_hint or "normal",
        "priority_hint": item.priority_hint,
        "requester_email": item.requester_email[:320],
        "customer_id": customer.id if customer else None,
        "customer_tier": customer_tier,
        "assignee_id": None,
        "channel": item.channel,
        "source": item.source,
        "external_id": item.ticket_external_id,
        "recipient": c.recipient,
        "product": c.product,
        "component": c.component,
        "service": c.service,
        "tags": list(c.tags),
        "cc": list(c.cc),
        "severity": None,
        "sla_policy": None,
        "queue_group": None,
        "escalation_count": 0,
        "reopen_count": 0,
        "decision": None,
        "rulebook_version": None,
        "auto_reply_suppressed": c.auto_reply_suppressed,
        "automation_tier": None,
        "created_at": now,
        "updated_at": now,
        "queued_at": None,
        "resolved_at": None,
    }
    origin = {"channel": item.channel, "source": item.source, "external_id": item.ticket_external_id}
    entries = [Entry(item.actor, "created", {**origin, "customer_tier": customer_tier}, state_of(ticket))]
    outbox = [event_row(ticket_id, "ticket.created", origin, now)]
    clocks: list[dict[str, Any]] = []
    timers: list[Any] = []
    try:
        decision = rulebook.evaluate(snapshot(item, customer, customer_tier, now))
    except Exception:  # never refuse a ticket over the rulebook: the route job tries again after the commit
        log.exception("routing_at_intake_failed", ticket_id=ticket_id)
        decision = None
    if decision is not None:
        clocks, timers = _route(session, ticket, decision, entries, outbox, now)
    audit = chain_rows(keyring_of(session).current, ticket_id, entries, now)
    ticket["audit_seq"], ticket["audit_head"] = audit[-1]["seq"], audit[-1]["hash"]
    message = {
        "ticket_id": ticket_id,
        "direction": Direction.inbound,
        "kind": "message",
        "author": item.requester_email,
        "body_text": item.body,
        "body_html": item.mail.html,
        "delivery_status": None,
        "delivery_error": None,
        "message_id_header": item.mail.message_id_header,
        "raw_sha256": item.mail.raw_sha256,
        "created_at": now,
    }
    return Draft(index, item, ticket, message, audit, clocks, outbox, timers, decision is not None)


def _route(
    session: AsyncSession,
    ticket: dict[str, Any],
    decision: Decision,
    entries: list[Entry],
    outbox: list[dict[str, Any]],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[Any]]:
    """``service.apply_routing`` on a row: the decision stored, the ticket queued in its tier, clocks started."""
    tier = decision.support_tier
    ticket.update(
        priority=decision.priority,
        severity=decision.severity,
        sla_policy=decision.sla_policy,
        queue_group=decision.queue_group,
        tags=[*ticket["tags"], *(t for t in decision.tags if t not in ticket["tags"])],
        decision=decision.to_dict(),
        rulebook_version=decision.rulebook_version,
        support_tier=tier,
        status=Status.queued,
        queued_at=now,
        automation_tier=tier,
    )
    if tier == VENDOR_TIER:
        outbox.append(event_row(ticket["id"], "ticket.vendor_handoff", {"vendor": decision.vendor}, now))
    policies = policies_of(session)
    policy = policies.select(
        pinned=decision.sla_policy, support_tier=tier, customer_tier=ticket["customer_tier"], priority=decision.priority
    )
    clocks, changes, timers = sla.opening_clocks(
        policies, policy, ticket_id=ticket["id"], support_tier=tier, status=ticket["status"], now=now
    )
    rule_ids = [m.rule_id for m in decision.matched]
    data: dict[str, Any] = {
        "priority": decision.priority,
        "rules": rule_ids,
        "rulebook_version": decision.rulebook_version,
    }
    if changes:
        data["sla"] = changes
    actor = f"rule:{rule_ids[0]}"[:100] if rule_ids else "rule:defaults"
    entries.append(Entry(actor, "routed", data, state_of(ticket), to_tier=tier))
    outbox.append(event_row(ticket["id"], "ticket.routed", {"support_tier": tier, "rules": rule_ids}, now))
    return clocks, timers


def event_row(ticket_id: int, event_type: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"id": new_event_id(), "type": event_type, "ticket_id": ticket_id, "data": data, "created_at": now}
