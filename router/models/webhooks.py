"""Outbound webhook deliveries: one row per (event, endpoint), retried until delivered or given up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from router.models.columns import UTCDateTime, utcnow


class DeliveryStatus:
    pending = "pending"
    delivered = "delivered"
    failed = "failed"
    #: Not sent, with the reason in ``last_error``: a vendor handoff whose ticket left the vendor's hands.
    skipped = "skipped"


class WebhookDelivery(SQLModel, table=True):
    """The signed payload is stored once, so every retry sends the same bytes under the same ``msg_id``
    (receivers deduplicate on ``webhook-id``)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_kind", "endpoint", name="uq_webhook_delivery_event_endpoint"),
        Index("ix_webhook_delivery_status", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(foreign_key="outbox_event.id", max_length=40)
    event_type: str = Field(max_length=64)
    #: The event's ticket, or its customer (``customer.*`` events).
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    #: ``vendor`` (a tier-4 handoff) or ``subscription``.
    endpoint_kind: str = Field(max_length=16)
    endpoint: str = Field(max_length=64)
    url: str = Field(max_length=2000)
    #: The ``webhook-id`` header: the same on every attempt.
    msg_id: str = Field(max_length=64, unique=True)
    body: str = Field(sa_type=Text)
    status: str = Field(default=DeliveryStatus.pending, max_length=16)
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookSubscription(SQLModel, table=True):
    """When this install first had a subscription (a name and URL): it receives the events created from
    then on, never the history before it (``router.webhooks.subscriptions``)."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    #: SHA-256 of the name and URL: a subscription given another URL is a new subscriber.
    key: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=64)
    url: str = Field(max_length=2000)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
