"""The SLA report's shape: what the JSON API returns and the HTML, CSV and digest render."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from router.assignment.figures import AssignmentFigures
from router.self_service.schemas import SelfServiceFigures


class Percentiles(BaseModel):
    """Median and 90th percentile in seconds (``percentile_cont``); ``None`` when nothing was measured."""

    p50: float | None = None
    p90: float | None = None


class Breakdown(BaseModel):
    """Figures for one group of tickets created in the window (``key`` ``all`` is the total)."""

    dimension: str
    key: str
    tickets_in: int
    tickets_out: int
    customers: int
    resolved: int
    escalated: int
    reopened: int
    reopen_rate: float | None
    breaches: int
    first_response_met: int
    first_response_breached: int
    first_response_open: int
    #: Stopped without a response (resolved with nothing sent): not met, not breached, and not in the compliance.
    first_response_unanswered: int
    #: Met among the first responses met or breached.
    first_response_compliance: float | None
    resolution_met: int
    resolution_breached: int
    resolution_open: int
    resolution_compliance: float | None
    first_response_business: Percentiles
    first_response_wall: Percentiles
    resolution_business: Percentiles
    resolution_wall: Percentiles


class TierTime(BaseModel):
    """Wall-clock time in a support tier; a stay is one visit (a ticket sent back counts again)."""

    tier: int
    stays: int
    seconds: float
    mean_seconds: float


class EscalationPath(BaseModel):
    action: str
    from_tier: int | None
    to_tier: int | None
    cause: str | None
    count: int


class CauseCount(BaseModel):
    cause: str
    count: int


class RuleCount(BaseModel):
    rule: str
    tickets: int
    escalations: int


class CustomerCount(BaseModel):
    customer_id: int
    name: str
    value_tier: int
    tickets: int
    escalations: int


class AgeBucket(BaseModel):
    bucket: str
    support_tier: int | None
    count: int


class VendorTurnaround(BaseModel):
    handoffs: int
    delivered: int
    vendor_updated: int
    resolved: int
    delivery: Percentiles
    first_update: Percentiles
    resolution: Percentiles


class TrendPoint(BaseModel):
    bucket: str
    tickets_in: int
    tickets_out: int
    breaches: int


class CustomerTierRow(BaseModel):
    """One value tier: its customers (now) against its tickets and SLA compliance in the window."""

    value_tier: int
    customers: int
    customer_share: float | None
    tickets_in: int
    ticket_share: float | None
    first_response_compliance: float | None
    resolution_compliance: float | None


class CustomerTierView(BaseModel):
    rows: list[CustomerTierRow]
    #: Tiers 3-4 hold more than half of the customers.
    bottom_heavy: bool


class SlaReport(BaseModel):
    since: datetime
    until: datetime
    as_of: datetime
    customer_id: int | None
    agent_id: int | None
    granularity: str
    totals: Breakdown
    by_support_tier: list[Breakdown]
    by_customer_tier: list[Breakdown]
    by_priority: list[Breakdown]
    time_in_tier: list[TierTime]
    escalation_paths: list[EscalationPath]
    escalations_by_cause: list[CauseCount]
    deescalations: int
    top_rules: list[RuleCount]
    top_customers: list[CustomerCount]
    backlog: list[AgeBucket]
    vendor: VendorTurnaround
    trends: list[TrendPoint]
    customer_tiers: CustomerTierView
    #: Tier 0: deflection, escalations after a suggestion, articles' helpful ratio (docs/self-service.md).
    self_service: SelfServiceFigures
    #: Push assignment (docs/assignment.md): offers by outcome and latency per tier, utilisation now.
    assignment: AssignmentFigures | None = None
