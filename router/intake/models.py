"""Delivery ledger: one row per (source, delivery id), so a redelivery never makes a second ticket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from router.columns import UTCDateTime, utcnow


class Delivery(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("source", "delivery_id", name="uq_delivery_source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    delivery_id: str = Field(max_length=255)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
