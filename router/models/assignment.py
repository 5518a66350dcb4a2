"""Offers of push assignment: a queued ticket offered to one agent, until they accept, decline or it times out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow


class OfferState(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    #: The ticket moved on (claimed, reassigned, escalated, resolved) before the agent answered.
    withdrawn = "withdrawn"


class AssignmentOffer(SQLModel, table=True):
    """One offer. At most one pending offer per ticket (a partial unique index): never two agents at once."""

    __tablename__ = "assignment_offer"
    __table_args__ = (
        Index(
            "ux_assignment_offer_pending_ticket",
            "ticket_id",
            unique=True,
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_assignment_offer_state_expires", "state", "expires_at"),
        Index("ix_assignment_offer_tier_agent_at", "tier", "agent_id", "offered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    tier: int
    strategy: str = Field(max_length=32)
    #: The candidates the strategy ranked, best first (agent ids).
    considered: list[int] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    reason: str = Field(default="", max_length=64)
    state: str = Field(default=OfferState.pending, max_length=16)
    #: When the ticket entered the queue it was offered from (assignment latency is offered_at - queued_at).
    queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    offered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
