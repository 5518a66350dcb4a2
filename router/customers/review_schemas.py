"""The quarterly tier review's shapes (JSON, CSV and HTML are rendered from them) and the sign-off's input."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def moved(self) -> bool:
        """The tier at the end differs from the one at the start (slipped or rose this quarter)."""
        return self.tier_at_start is not None and self.tier_at_start != self.tier_at_end

    @property
    def signed_off(self) -> bool:
        return self.review is not None and self.review.closed


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


class TierReviewSummary(BaseModel):
    """What the review says of the whole quarter, whichever customers a page lists."""

    quarter: str
    start: date
    #: The first day after the quarter.
    end: date
    #: Which end of the scale is the best (``tiers`` lists them best first).
    best: int
    tiers: list[int]
    currency: str
    #: Customers in the review (onboarded before the quarter's end).
    customers_total: int
    #: Every (start tier, end tier) pair, best first, for customers onboarded before the quarter.
    transitions: list[Transition]
    slipped: int
    risen: int
    #: The last four quarters, oldest first.
    distribution: list[QuarterCount]
    bottom_heavy: BottomHeavy
    #: Customers whose review record is closed.
    signed_off: int
    #: Customers with at least one flag (``below_best``, ``above_onboarding``, ``at_risk``, or moved tier).
    flagged: int
    #: Of those, how many are signed off.
    flagged_signed_off: int

    def matrix(self) -> dict[int, dict[int, int]]:
        grid: dict[int, dict[int, int]] = {a: {} for a in self.tiers}
        for t in self.transitions:
            grid[t.from_tier][t.to_tier] = t.customers
        return grid


class TierReviewReport(TierReviewSummary):
    """The whole review: every customer in it (the command line's files, the CSV export)."""

    customers: list[CustomerReviewRow]


class ReviewSelection(BaseModel):
    """Which customers a page of the review lists, and how many each filter would list."""

    #: ``any`` (at least one flag), ``all``, or one of ``below_best``, ``above_onboarding``, ``at_risk``, ``moved``.
    flag: str
    #: Only customers whose current tier is this one (None: every tier).
    tier: int | None
    #: Customers passing both filters.
    matching: int
    #: Each ``flag`` value -> customers passing it and the ``tier`` filter.
    by_flag: dict[str, int]
    #: Each tier (as text, best first) -> customers of that current tier passing the ``flag`` filter.
    by_tier: dict[str, int]
    #: How many of the matching customers come before the first one listed.
    offset: int
    limit: int
    #: Pass as ``cursor`` for the next page; None on the last page.
    next_cursor: str | None


class TierReviewPage(TierReviewSummary):
    """The summary whole, and one page of the customers the filters pick (ordered by customer id)."""

    customers: list[CustomerReviewRow]
    selection: ReviewSelection
