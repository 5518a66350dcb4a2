"""The quarterly tier review's shapes (JSON, CSV and HTML are rendered from them) and the sign-off's input."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from router.models.customers import ReviewReason, TierReviewRecord

ReasonCategory = Literal[ReviewReason.ALL]  # type: ignore[valid-type]


class ReviewRecordOut(BaseModel):
    id: int
    customer_id: int
    quarter: str
    owner_id: int | None
    reason: str
    notes: str
    closed: bool
    closed_at: datetime | None
    updated_by: str
    updated_at: datetime

    @classmethod
    def of(cls, record: TierReviewRecord) -> ReviewRecordOut:
        assert record.id is not None
        return cls(
            id=record.id, customer_id=record.customer_id, quarter=record.quarter, owner_id=record.owner_id,
            reason=record.reason, notes=record.notes, closed=record.closed, closed_at=record.closed_at,
            updated_by=record.updated_by, updated_at=record.updated_at,
        )  # fmt: skip


class ReviewRecordIn(BaseModel):
    """A lead's sign-off of one customer in one quarter: made by the first call, changed by the next ones."""

    model_config = ConfigDict(extra="forbid")

    quarter: Annotated[str, StringConstraints(max_length=7)] = Field(examples=["2026Q4"])
    customer_id: int = Field(ge=1, le=2**31 - 1)
    owner_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="the agent who owns the follow-up")
    reason: ReasonCategory = Field(description=f"one of {', '.join(ReviewReason.ALL)}")
    notes: Annotated[str, StringConstraints(max_length=2000)] = ""
    closed: bool = False


class CustomerReviewRow(BaseModel):
    customer_id: int
    external_ref: str
    name: str
    current_tier: int
    onboarding_tier: int
    highest_tier: int
    #: None: the customer was onboarded during the quarter.
    tier_at_start: int | None
    tier_at_end: int
    tickets: int
    cost_to_serve: Decimal
    sla_met: int
    sla_breached: int
    #: Clocks met of clocks decided (first response and resolution), 0-1; None when none was decided.
    sla_compliance: Decimal | None
    #: ``below_best``, ``above_onboarding``, ``at_risk``.
    flags: list[str]
    review: ReviewRecordOut | None = None


class Transition(BaseModel):
    from_tier: int
    to_tier: int
    customers: int


class QuarterCount(BaseModel):
    quarter: str
    #: Tier (as text, best first) -> customers holding it at the end of the quarter.
    customers: dict[str, int]


class BottomHeavy(BaseModel):
    """The share (0-1) of customers, tickets and support cost on the two worst tiers at the quarter's end."""

    tiers: list[int]
    customers_share: Decimal | None
    tickets_share: Decimal | None
    cost_share: Decimal | None
    #: Which of ``customers``, ``tickets``, ``support_cost`` have more than half on those tiers.
    bottom_heavy_by: list[str]


class TierReviewReport(BaseModel):
    quarter: str
    start: date
    #: The first day after the quarter.
    end: date
    #: Which end of the scale is the best (``tiers`` lists them best first).
    best: int
    tiers: list[int]
    currency: str
    customers: list[CustomerReviewRow]
    #: Every (start tier, end tier) pair, best first, for customers onboarded before the quarter.
    transitions: list[Transition]
    slipped: int
    risen: int
    #: The last four quarters, oldest first.
    distribution: list[QuarterCount]
    bottom_heavy: BottomHeavy
    #: Customers whose review record is closed.
    signed_off: int

    def matrix(self) -> dict[int, dict[int, int]]:
        grid: dict[int, dict[int, int]] = {a: {} for a in self.tiers}
        for t in self.transitions:
            grid[t.from_tier][t.to_tier] = t.customers
        return grid
