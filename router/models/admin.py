"""The administration log: who changed an agent or a customer, when, and what (tickets have their own trail)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow


class AdminEvent(SQLModel, table=True):
    """One administrative change; ``subject`` names what changed (``agent:7``, ``customer:3``)."""

    __tablename__ = "admin_event"
    __table_args__ = (Index("ix_admin_event_subject_at", "subject", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: ``agent:<id>`` for a lead or admin (web UI or API), ``cli`` for the command line.
    actor: str = Field(max_length=100)
    #: ``agent.added``, ``agent.changed``, ``customer.domain_added``, ...
    action: str = Field(max_length=40, index=True)
    subject: str = Field(max_length=60)
    #: What changed, ``{field: [before, after]}``, or the values the action took; never a secret.
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
