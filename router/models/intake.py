"""Delivery ledger: one row per (source, delivery id), so a redelivery never makes a second ticket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from router.models.columns import UTCDateTime, utcnow


class Delivery(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("source", "delivery_id", name="uq_delivery_source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    delivery_id: str = Field(max_length=255)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    #: What the delivery did (``created``, ``commented``, ``closed``, ...): a redelivery answers the same.
    outcome: str = Field(default="created", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InboundMail(SQLModel, table=True):
    """Every email received, whatever became of it: the dedupe key (Message-ID) and an audit-visible reason."""

    __tablename__ = "inbound_mail"
    __table_args__ = (Index("ix_inbound_mail_sender_received", "sender", "received_at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=998, unique=True)
    source: str = Field(max_length=64)
    sender: str = Field(max_length=320)
    subject: str = Field(default="", max_length=500)
    #: ``created``, ``appended``, ``attached`` (auto-reply or bounce on its ticket) or ``dropped``.
    outcome: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=500)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    raw_sha256: str = Field(max_length=64)
    size: int
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
