"""The breach forecast's predictions, kept to judge the forecast by (precision and recall on ``/reports``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from router.models.columns import UTCDateTime, utcnow


class BreachPrediction(SQLModel, table=True):
    """One prediction that a waiting ticket will be picked up after its SLA due time: made once per ticket,
    tier and due time (a changed due time is a new prediction), announced once (``sla.breach_predicted``).

    ``came_true`` stays empty while the ticket waits before its due time; it is settled when the ticket
    leaves the queue (claimed, moved, resolved: true if that was after ``due_at``) or is still waiting at
    ``due_at`` (true: it breached waiting).
    """

    __tablename__ = "breach_prediction"
    __table_args__ = (
        UniqueConstraint("ticket_id", "tier", "due_at", name="uq_breach_prediction_ticket_tier_due"),
        Index("ix_breach_prediction_made_at", "made_at"),
        Index("ix_breach_prediction_open", "came_true", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    tier: int
    #: None when nobody works the tier: never picked up at the present capacity.
    predicted_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    made_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    came_true: bool | None = None
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
