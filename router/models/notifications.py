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
    #: Someone else (a lead) gave the agent a ticket.
    assigned = "assigned"
    #: The requester wrote into a ticket the agent holds.
    requester_replied = "requester_replied"
    #: An SLA clock of a ticket the agent holds reached its warning point.
    sla_warning = "sla_warning"
    #: An SLA clock of a ticket the agent holds breached.
    my_sla_breach = "my_sla_breach"
    #: The breach forecast predicts a waiting ticket of a tier the lead leads will be picked up too late.
    breach_predicted = "breach_predicted"
    #: A customer of a watched tier crossed the early warning's thresholds (``customer.at_risk``): every lead.
    customer_at_risk = "customer_at_risk"


#: Kinds mailed to an agent who has never set a preference: the lead's breach notice (as before
#: preferences existed); the rest stay in the app until the agent asks for mail.
DEFAULT_MAIL_KINDS: tuple[str, ...] = (
    NotificationKind.sla_breach,
    NotificationKind.breach_predicted,
    NotificationKind.customer_at_risk,
)


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


class NotificationPreference(SQLModel, table=True):
    """Which notification kinds an agent also wants by mail (in-app notices always arrive); no row: the
    defaults, ``DEFAULT_MAIL_KINDS``."""

    __tablename__ = "notification_preference"

    agent_id: int = Field(foreign_key="agent.id", primary_key=True)
    mail_kinds: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
