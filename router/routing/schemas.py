"""Rulebook shapes of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from router.bounds import MOMENT_RANGE, Moment


class RuleOut(BaseModel):
    id: str
    description: str


class RulebookOut(BaseModel):
    path: str
    version: str
    rules: list[RuleOut]
    #: The error of the last refused change, while the previous rulebook stays in force.
    refused_change: str | None


class SimulateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rulebook: str = Field(min_length=1, max_length=900_000, description="the candidate rulebook's YAML text")
    since: Moment | None = Field(default=None, description=f"only tickets created since; {MOMENT_RANGE}")
    max_differences: int = Field(default=100, ge=0, le=10_000)


class TierMove(BaseModel):
    from_tier: int
    to_tier: int
    tickets: int


class DifferenceOut(BaseModel):
    ticket_id: int
    ref: str
    created_at: datetime
    tier_before: int
    tier_after: int
    priority_before: str
    priority_after: str
    rules_after: list[str]


class SimulationOut(BaseModel):
    candidate_version: str
    tickets: int
    skipped_unrouted: int
    changed: int
    changed_tier: int
    changed_priority: int
    tier_moves: list[TierMove]
    differences: list[DifferenceOut]
