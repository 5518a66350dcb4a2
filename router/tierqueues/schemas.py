"""Queue shapes of the JSON API."""

from __future__ import annotations

from pydantic import BaseModel

from router.tickets.schemas import TicketOut


class TierQueueOut(BaseModel):
    tier: int
    name: str
    depth: int
    oldest_age_seconds: float | None


class TierQueuePage(BaseModel):
    tier: int
    total: int
    offset: int
    limit: int
    items: list[TicketOut]
