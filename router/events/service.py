"""Record domain events in the caller's transaction (a ticket's, or a customer's); publishing happens after the
commit."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import after_commit, publish_event
from router.models.columns import utcnow
from router.models.events import OutboxEvent
from router.models.tickets import Ticket

OUTBOX = OutboxEvent.__table__  # type: ignore[attr-defined]
#: A customer's events (their ``data`` names the customer, not a ticket).
CUSTOMER_EVENT_TYPES = ("customer.tier_changed", "customer.tier_slipped", "customer.tier_rose", "customer.at_risk")
#: The event types subscriptions can ask for (docs/webhooks.md describes their payloads); a subscription may
#: also name a family, ``customer.*``.
EVENT_TYPES = (
    "ticket.created",
    "ticket.routed",
    "ticket.escalated",
    "ticket.deescalated",
    "ticket.commented",
    "ticket.resolved",
    "ticket.reopened",
    "ticket.vendor_handoff",
    "sla.warning",
    "sla.breached",
    "sla.breach_predicted",
    *CUSTOMER_EVENT_TYPES,
)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(13)


def emit(session: AsyncSession, ticket: Ticket, event_type: str, data: dict[str, Any] | None = None) -> OutboxEvent:
    """Add an event to the outbox; the publish job (``router.effects.publish_job``) fans it out once the
    transaction commits.

    :param ticket: the ticket the event is about (flushed: it has an id).
    :param event_type: one of ``EVENT_TYPES``.
    :param data: JSON-ready details that go into the payload beside the ticket's summary.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    assert ticket.id is not None
    event = OutboxEvent(id=new_event_id(), type=event_type, ticket_id=ticket.id, data=data or {})
    session.add(event)
    after_commit(session, publish_event(event.id, event_type))
    return event


async def emit_for_customers(session: AsyncSession, events: list[tuple[int, str, dict[str, Any]]]) -> list[str]:
    """Add customers' events ``(customer_id, event_type, data)`` to the outbox in one statement (a review moves
    thousands at once) and return their ids; each is published after the commit, as ``emit``'s are."""
    for _, event_type, _ in events:
        if event_type not in CUSTOMER_EVENT_TYPES:
            raise ValueError(f"unknown customer event type {event_type!r}")
    ids = [new_event_id() for _ in events]
    if events:
        now = utcnow()
        rows = [
            {"id": event_id, "type": event_type, "ticket_id": None, "customer_id": customer_id, "data": data,
             "created_at": now, "published_at": None}
            for event_id, (customer_id, event_type, data) in zip(ids, events, strict=True)
        ]  # fmt: skip
        await (await session.connection()).execute(insert(OUTBOX), rows)
    for event_id, (_, event_type, _) in zip(ids, events, strict=True):
        after_commit(session, publish_event(event_id, event_type))
    return ids
