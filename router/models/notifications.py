"""In-app notifications to agents (an SLA breach for a tier's leads, and whatever later kinds need them)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow


class NotificationKind(StrEnum):
    #: An SLA clock breached and its policy says ``notify_lead``: one per lead of the ticket's tier.
    sla_breach = "sla_breach"


class Notification(SQLModel, table=True):
    """One notice for one agent: unread until they mark it read. ``payload`` holds what the notice shows
    (for a breach: the ticket's ref and subject, the clock, the tier), so a list needs no joins."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_agent_unread", "agent_id", "read_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id")
    kind: str = Field(max_length=32)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The notice by mail too: a ``MailStatus`` (``pending`` until the mailer sends it), or NULL when no mail
    #: goes out (outbound mail is not configured).
    mail_status: str | None = Field(default=None, max_length=16)
