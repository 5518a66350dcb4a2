"""AuditEvent table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """One thing that happened to a ticket; ``hash`` seals the event, the previous event's seal and the ticket's
    state after it (HMAC-SHA256 under the key ``key_id`` names; ``router.audit.chain``)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("ticket_id", "seq", name="uq_audit_ticket_seq"),
        # Reports: events of one kind in a time range (breach trends), and the tickets an agent acted on.
        Index("ix_audit_event_action_at", "action", "at"),
        Index("ix_audit_event_actor_ticket", "actor", "ticket_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    seq: int
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    #: ``agent:<id>``, ``system``, ``rule:<id>`` or ``sla``.
    actor: str = Field(max_length=100)
    action: str = Field(max_length=40, index=True)
    from_tier: int | None = None
    to_tier: int | None = None
    reason: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    #: The HMAC key that sealed the event (its id, never the key); empty for legacy events (plain SHA-256).
    key_id: str | None = Field(default=None, max_length=16)
    #: The ticket's state after the event (``router.audit.chain.STATE_FIELDS``); empty for legacy events.
    state: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONColumn, nullable=True))
