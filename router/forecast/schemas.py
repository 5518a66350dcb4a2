"""Forecast shapes of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class PredictionOut(BaseModel):
    ticket_id: int
    #: 1-based place in claim order.
    position: int
    #: None when nobody works the tier.
    predicted_start: datetime | None
    due_at: datetime | None
    breach: bool


class ForecastOut(BaseModel):
    tier: int
    made_at: datetime
    #: Agents taking work in the tier.
    capacity: int
    #: Claims per agent-hour over the recent window (or the configured default without history).
    rate_per_agent_hour: float
    waiting: int
    #: Waiting tickets already past their due time (not predictions).
    overdue: int
    predicted_breaches: int
    predicted_breaches_next_2h: int
    offset: int
    limit: int
    items: list[PredictionOut]
