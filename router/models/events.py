"""The event outbox: what happened to a ticket or a customer, for other tools to follow (outbound webhooks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow


class OutboxEvent(SQLModel, table=True):
    """Written in the transaction that made the change, so an event is never lost nor sent for a rollback.

    ``published_at`` is set once the event has been fanned out to its subscriptions; reconcile
    re-publishes the rows still unpublished.
    """

    __tablename__ = "outbox_event"
    __table_args__ = (Index("ix_outbox_event_unpublished", "published_at", "type"),)

    #: ``evt_`` + 26 random characters: also the payload's id, stable across redeliveries.
    id: str = Field(primary_key=True, max_length=40)
    type: str = Field(max_length=64)
    #: The ticket of a ``ticket.*`` or ``sla.*`` event; empty for a customer's event.
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    #: The customer of a ``customer.*`` event.
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
