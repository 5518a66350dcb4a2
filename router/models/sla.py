"""The SLA clock table: one row per ticket and clock kind, holding what reports need (met/breached, times)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from router.models.columns import UTCDateTime, utcnow


class ClockKind(StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


class ClockState(StrEnum):
    ok = "ok"
    warning = "warning"
    breached = "breached"
    #: Stopped in time (``stopped_at`` set, never breached in its last tier).
    met = "met"
    #: A response clock stopped by something that is not a response (resolved with nothing sent): neither met
    #: nor breached, and reported on its own (``docs/sla.md``).
    unanswered = "unanswered"
    #: Shown by the API while ``paused_at`` is set; the column keeps the underlying state.
    paused = "paused"


class SlaClock(SQLModel, table=True):
    """Business time is accumulated in segments: ``consumed_seconds`` up to ``running_since`` plus whatever
    the calendar counts from ``running_since`` to now. ``generation`` changes with every timing change, so
    a timer for an older generation is recognised as stale."""

    __tablename__ = "sla_clock"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", name="uq_sla_clock_ticket_kind"),
        Index("ix_sla_clock_tier_due", "support_tier", "due_at"),
        Index("ix_sla_clock_next_at", "next_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=16)
    policy: str = Field(max_length=64)
    #: The tier the clock counts for now (changes on escalation).
    support_tier: int
    state: str = Field(default=ClockState.ok, max_length=16)
    #: Business seconds allowed in the current tier.
    target_seconds: int
    #: Business seconds used in the current tier, up to ``running_since`` (or in total when stopped).
    consumed_seconds: float = 0.0
    #: Business seconds used over the ticket's life, across tiers, up to ``running_since``.
    total_seconds: float = 0.0
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: When the current tier's count began (escalation with ``restart`` resets it).
    tier_started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Start of the running segment; ``None`` while paused or stopped.
    running_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    warn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: When the clock's timer fires next (warning, then breach); ``None`` when nothing is pending.
    next_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    breached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Breaches over the ticket's life (one per tier at most).
    breaches: int = 0
    generation: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
