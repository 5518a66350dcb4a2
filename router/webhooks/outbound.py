"""Publish outbox events to vendors and subscriptions, and record every delivery attempt.

``fan_out`` turns one event into one stored delivery per endpoint (payload fixed at that moment), in
the transaction that marks the event published; delivery jobs (``router.effects.deliver_job``) then send each one with
exponential backoff. A tier-4 handoff's attempts are also on the ticket's audit trail.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import after_commit, deliver_job
from router.models.columns import utcnow
from router.models.events import OutboxEvent
from router.models.tickets import Direction, Message, Ticket
from router.models.webhooks import DeliveryStatus, WebhookDelivery
from router.tickets import deliveries
from router.tickets import service as tickets
from router.webhooks.config import Endpoint, WebhooksConfig

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


def _targets(config: WebhooksConfig, event: OutboxEvent) -> tuple[list[Endpoint], str | None]:
    targets = config.subscribers(event.type)
    vendor_name: str | None = None
    if event.type == "ticket.vendor_handoff":
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
    ticket = await tickets.get(session, event.ticket_id, lock=True)
    targets, vendor_name = _targets(config, event)
    created: list[WebhookDelivery] = []
    for endpoint in targets:
        delivery = WebhookDelivery(
            event_id=event.id,
            event_type=event.type,
            ticket_id=event.ticket_id,
            endpoint_kind=endpoint.kind,
            endpoint=endpoint.name,
            url=endpoint.url,
            msg_id=f"msg_{event.id.removeprefix('evt_')}_{len(created)}",
            body=await payload(session, event, ticket, endpoint),
        )
        session.add(delivery)
        created.append(delivery)
    event.published_at = utcnow()
    await session.flush()
    for delivery in created:
        assert delivery.id is not None
        after_commit(session, deliver_job(delivery.id))
    if event.type == "ticket.vendor_handoff":
        handoff = next((d for d in created if d.endpoint_kind == "vendor"), None)
        named = event.data.get("vendor")
        reason = f"vendor {named!r} named by the rules is not configured" if named and not vendor_name else None
        deliveries.record_handoff(
            session, ticket, vendor=vendor_name, delivery_id=handoff.id if handoff else None, reason=reason
        )
    return len(created)


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
    if delivery.endpoint_kind == "vendor":
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
