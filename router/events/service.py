"""Record domain events in the caller's transaction; publishing happens after the commit."""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import after_commit, publish_event
from router.models.events import OutboxEvent
from router.models.tickets import Ticket

#: The event types subscriptions can ask for (docs/webhooks.md describes their payloads).
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
