"""Publish outbox events to vendors and subscriptions, and record every delivery attempt.

``fan_out`` turns one event into one stored delivery per endpoint (payload fixed at that moment), in
the transaction that marks the event published; delivery jobs (``router.effects.deliver_job``) then send each one with
exponential backoff. A tier-4 handoff's attempts are also on the ticket's audit trail.

A subscription gets only the events created since it was first seen (``router.webhooks.subscriptions``).
A customer's event (``customer.*``) goes to subscriptions only, with the customer in place of a ticket.
A vendor handoff goes out only while the ticket is still at tier 4, open, with that vendor, and not handed
off again since: checked at fan-out and again before every attempt; otherwise the delivery is recorded as
``skipped`` with the reason, on the ticket's trail too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import after_commit, deliver_job
from router.models.columns import utcnow
from router.models.customers import Customer
from router.models.events import OutboxEvent
from router.models.tickets import OPEN_STATUSES, Direction, Message, Ticket
from router.models.webhooks import DeliveryStatus, WebhookDelivery
from router.tickets import deliveries
from router.tickets import service as tickets
from router.webhooks import subscriptions
from router.webhooks.config import Endpoint, WebhooksConfig
from rules.vocabulary import VENDOR_TIER

HANDOFF = "ticket.vendor_handoff"

#: The longest wait between two attempts.
MAX_BACKOFF_SECONDS = 3600.0
#: How much of the conversation a vendor handoff carries.
HANDOFF_MESSAGES = 20
HANDOFF_MESSAGE_CHARS = 20_000


def backoff_seconds(attempt: int, base: float) -> float:
    """``base`` after the first failure, doubling each time, at most an hour."""
    return float(min(base * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS))


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "ref": ticket.ref,
        "subject": ticket.subject,
        "status": ticket.status,
        "support_tier": ticket.support_tier,
        "priority": ticket.priority,
        "customer_tier": ticket.customer_tier,
        "requester_email": ticket.requester_email,
        "channel": ticket.channel,
        "source": ticket.source,
        "external_id": ticket.external_id,
        "tags": list(ticket.tags),
        "created_at": ticket.created_at.isoformat(),
    }


def customer_summary(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "external_ref": customer.external_ref,
        "name": customer.name,
        "value_tier": customer.value_tier,
        "onboarding_tier": customer.onboarding_tier,
        "highest_tier": customer.highest_tier,
    }


async def _conversation(session: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    """Public messages only: internal notes never leave the helpdesk."""
    rows = await session.exec(
        select(Message)
        .where(Message.ticket_id == ticket_id, Message.direction != Direction.note)
        .order_by(col(Message.id).desc())
        .limit(HANDOFF_MESSAGES)
    )
    return [
        {
            "direction": m.direction,
            "author": m.author,
            "body": m.body_text[:HANDOFF_MESSAGE_CHARS],
            "created_at": m.created_at.isoformat(),
        }
        for m in reversed(rows.all())
    ]


async def payload(session: AsyncSession, event: OutboxEvent, ticket: Ticket, endpoint: Endpoint) -> str:
    """The Standard Webhooks payload shape: ``{type, timestamp, data}``."""
    data: dict[str, Any] = {"event_id": event.id, "ticket": ticket_summary(ticket), **event.data}
    if endpoint.kind == "vendor":
        assert ticket.id is not None
        data["vendor"] = endpoint.name
        data["conversation"] = await _conversation(session, ticket.id)
        data["callback"] = {
            "path": f"/api/v1/intake/webhooks/{endpoint.name}",
            "ticket_ref": ticket.ref,
            "events": ["comment", "update", "close"],
        }
    body = {"type": event.type, "timestamp": event.created_at.isoformat(), "data": data}
    return orjson.dumps(body).decode()


async def stale_handoff(
    session: AsyncSession, ticket: Ticket, event: OutboxEvent, vendor: str, config: WebhooksConfig
) -> str | None:
    """Why the handoff ``event`` must not go to ``vendor`` now; None while the ticket is still that vendor's."""
    if ticket.support_tier != VENDOR_TIER:
        return f"the ticket is at tier {ticket.support_tier} now, no longer with the vendor"
    if ticket.status not in OPEN_STATUSES:
        return f"the ticket is {ticket.status} now"
    current = config.vendor_for((ticket.decision or {}).get("vendor"))
    if current is None or current.name != vendor:
        return f"the ticket's vendor is {current.name if current else 'none'} now, not {vendor}"
    later = select(OutboxEvent.id).where(
        OutboxEvent.ticket_id == ticket.id, OutboxEvent.type == HANDOFF, OutboxEvent.created_at > event.created_at
    )
    if (await session.exec(later.limit(1))).first() is not None:
        return "a later handoff of the ticket replaces it"
    return None


async def _subscribed(config: WebhooksConfig, session: AsyncSession, event: OutboxEvent) -> list[Endpoint]:
    """The subscriptions that want the event and existed when it was created."""
    wanting = config.subscribers(event.type)
    if not wanting:
        return []
    since = await subscriptions.first_seen(session, config)
    return [s for s in wanting if s.name in since and since[s.name] <= event.created_at]


async def _targets(
    config: WebhooksConfig, session: AsyncSession, event: OutboxEvent
) -> tuple[list[Endpoint], str | None]:
    targets = await _subscribed(config, session, event)
    vendor_name: str | None = None
    if event.type == HANDOFF:
        vendor = config.vendor_for(event.data.get("vendor"))
        if vendor is not None:
            targets = [vendor, *targets]
            vendor_name = vendor.name
    return targets, vendor_name


async def fan_out(session: AsyncSession, event_id: str, config: WebhooksConfig) -> int:
    """Store one delivery per endpoint that wants the event and queue their jobs; a second run adds none."""
    event = (await session.exec(select(OutboxEvent).where(OutboxEvent.id == event_id).with_for_update())).first()
    if event is None or event.published_at is not None:
        return 0
    if event.ticket_id is None:
        return await _fan_out_customer_event(session, event, config)
    ticket = await tickets.get(session, event.ticket_id, lock=True)
    targets, vendor_name = await _targets(config, session, event)
    stale = await stale_handoff(session, ticket, event, vendor_name, config) if vendor_name else None
    created: list[WebhookDelivery] = []
    for endpoint in targets:
        skipped = stale if endpoint.kind == "vendor" else None
        delivery = WebhookDelivery(
            event_id=event.id,
            event_type=event.type,
            ticket_id=event.ticket_id,
            endpoint_kind=endpoint.kind,
            endpoint=endpoint.name,
            url=endpoint.url,
            msg_id=f"msg_{event.id.removeprefix('evt_')}_{len(created)}",
            # A skipped handoff keeps no copy of the conversation it never sent.
            body="" if skipped else await payload(session, event, ticket, endpoint),
            status=DeliveryStatus.skipped if skipped else DeliveryStatus.pending,
            last_error=skipped,
        )
        session.add(delivery)
        created.append(delivery)
    event.published_at = utcnow()
    await session.flush()
    for delivery in created:
        assert delivery.id is not None
        if delivery.status == DeliveryStatus.pending:
            after_commit(session, deliver_job(delivery.id))
    if event.type == HANDOFF:
        handoff = next((d for d in created if d.endpoint_kind == "vendor"), None)
        named = event.data.get("vendor")
        reason = f"vendor {named!r} named by the rules is not configured" if named and not vendor_name else stale
        deliveries.record_handoff(
            session, ticket, vendor=vendor_name, delivery_id=handoff.id if handoff else None, reason=reason
        )
    return len(created)


async def _fan_out_customer_event(session: AsyncSession, event: OutboxEvent, config: WebhooksConfig) -> int:
    """A customer's event to the subscriptions that want it: the payload carries the customer as it is now."""
    customer = await session.get(Customer, event.customer_id) if event.customer_id is not None else None
    targets = await _subscribed(config, session, event) if customer is not None else []
    created: list[WebhookDelivery] = []
    for endpoint in targets:
        assert customer is not None
        data = {"event_id": event.id, "customer": customer_summary(customer), **event.data}
        body = {"type": event.type, "timestamp": event.created_at.isoformat(), "data": data}
        delivery = WebhookDelivery(
            event_id=event.id,
            event_type=event.type,
            ticket_id=None,
            customer_id=event.customer_id,
            endpoint_kind=endpoint.kind,
            endpoint=endpoint.name,
            url=endpoint.url,
            msg_id=f"msg_{event.id.removeprefix('evt_')}_{len(created)}",
            body=orjson.dumps(body).decode(),
        )
        session.add(delivery)
        created.append(delivery)
    event.published_at = utcnow()
    await session.flush()
    for delivery in created:
        assert delivery.id is not None
        after_commit(session, deliver_job(delivery.id))
    return len(created)


async def due_delivery(session: AsyncSession, delivery_id: int, config: WebhooksConfig) -> WebhookDelivery | None:
    """The delivery to attempt now, locked; None when it is gone or done, or when it is a vendor handoff
    gone stale (``stale_handoff``), which is then recorded as skipped, with the reason, on the ticket too."""
    delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != DeliveryStatus.pending:
        return None
    event = await session.get(OutboxEvent, delivery.event_id)
    if delivery.endpoint_kind != "vendor" or event is None or delivery.ticket_id is None:
        return delivery
    ticket = await tickets.get(session, delivery.ticket_id, lock=True)
    reason = await stale_handoff(session, ticket, event, delivery.endpoint, config)
    if reason is None:
        return delivery
    delivery.status, delivery.last_error, delivery.next_attempt_at = DeliveryStatus.skipped, reason, None
    deliveries.record_handoff(session, ticket, vendor=delivery.endpoint, delivery_id=delivery.id, reason=reason)
    return None


async def record_attempt(
    session: AsyncSession,
    delivery: WebhookDelivery,
    *,
    max_attempts: int,
    status_code: int | None,
    error: str | None,
    retry_base_seconds: float,
) -> float | None:
    """Store one attempt's outcome; returns the delay before the next attempt, or None when done."""
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error[:500] if error else None
    final = error is not None and delivery.attempts >= max_attempts
    delay: float | None = None
    if error is None:
        delivery.status = DeliveryStatus.delivered
        delivery.delivered_at = utcnow()
        delivery.next_attempt_at = None
    elif final:
        delivery.status = DeliveryStatus.failed
        delivery.next_attempt_at = None
    else:
        delay = backoff_seconds(delivery.attempts, retry_base_seconds)
        delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
    if delivery.endpoint_kind == "vendor" and delivery.ticket_id is not None:
        ticket = await tickets.get(session, delivery.ticket_id, lock=True)
        assert delivery.id is not None
        deliveries.record_handoff_attempt(
            session,
            ticket,
            vendor=delivery.endpoint,
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            error=delivery.last_error,
            final=final,
        )
    return delay
