"""The quarterly tier review (``tierroute report tiers``, ``GET /api/v1/reports/tiers``, ``/reports/tiers``).

Per customer: current, onboarding and highest tier, the tier at the start and at the end of the quarter (read
from the tier history), support load (tickets opened in the quarter), cost to serve (``router.customers.cost``),
SLA compliance (the first-response and resolution clocks of those tickets that were met, of those decided),
flags, and the lead's sign-off (``tier_review_record``). The summary: the tier-to-tier matrix from start to
end, how many slipped and rose, the customers per tier at the end of each of the last four quarters, and the
bottom-heavy diagnosis (the share of customers, tickets and support cost on the two worst tiers). Every
comparison of tiers asks the installation's scale (``best: 1`` or ``best: 4``).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import col
from sqlmodel import select as select_rows
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import at_risk, cost
from router.customers.review_schemas import (
    BottomHeavy,
    CustomerReviewRow,
    QuarterCount,
    ReviewRecordOut,
    TierReviewReport,
    Transition,
)
from router.errors import Invalid
from router.models.customers import Customer, CustomerTierChange, TierReviewRecord
from router.models.reports import ReportTicket
from router.reports.facts import OUTCOMES
from rules.review_periods import ReviewPeriod, parse_period
from rules.tier_costs import CostRates
from rules.vocabulary import TierScale

FACTS = ReportTicket.__table__  # type: ignore[attr-defined]
HISTORY = CustomerTierChange.__table__  # type: ignore[attr-defined]
CUSTOMER = Customer.__table__  # type: ignore[attr-defined]
MET, BREACHED = OUTCOMES.index("met"), OUTCOMES.index("breached")
#: A share above this on the two worst tiers is "bottom-heavy".
BOTTOM_HEAVY_SHARE = Decimal("0.5")
_SHARE = Decimal("0.0001")


def parse_quarter(text: str) -> ReviewPeriod:
    """``2026Q4``; anything else is a 422 naming the field."""
    try:
        return parse_period(text, "quarterly")
    except ValueError as exc:
        raise Invalid(str(exc), field="quarter") from None


def _moment(period: ReviewPeriod, end: bool = False) -> datetime:
    day = period.end if end else period.start
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class _Timeline:
    """A customer's tier over time: the ``to_tier`` of the last step before a moment."""

    def __init__(self) -> None:
        self.at: list[datetime] = []
        self.tiers: list[int] = []

    def add(self, at: datetime, tier: int) -> None:
        self.at.append(at)
        self.tiers.append(tier)

    def before(self, moment: datetime) -> int | None:
        index = bisect.bisect_left(self.at, moment)
        return self.tiers[index - 1] if index else None


async def _timelines(session: AsyncSession) -> dict[int, _Timeline]:
    rows = await (await session.connection()).execute(
        select(HISTORY.c.customer_id, HISTORY.c.at, HISTORY.c.to_tier).order_by(HISTORY.c.at, HISTORY.c.id)
    )
    found: dict[int, _Timeline] = defaultdict(_Timeline)
    for customer_id, at, tier in rows:
        found[customer_id].add(at if at.tzinfo else at.replace(tzinfo=UTC), tier)
    return found


async def _load(session: AsyncSession, start: datetime, end: datetime) -> dict[int, tuple[int, int, int]]:
    """Per customer: tickets opened in ``[start, end)``, and their SLA clocks met and breached."""
    f = FACTS.c

    def counted(outcome: int) -> Any:
        return func.sum(case((f.fr_outcome == outcome, 1), else_=0) + case((f.res_outcome == outcome, 1), else_=0))

    query = (
        select(f.customer_id, func.count(), counted(MET), counted(BREACHED))
        .where(f.created_at >= start, f.created_at < end, f.customer_id.is_not(None))
        .group_by(f.customer_id)
    )
    rows = await (await session.connection()).execute(query)
    return {cid: (int(n), int(met or 0), int(breached or 0)) for cid, n, met, breached in rows}


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(_SHARE, ROUND_HALF_UP) if whole else None


async def tier_review_report(
    session: AsyncSession, period: ReviewPeriod, scale: TierScale, rates: CostRates, *, now: datetime | None = None
) -> TierReviewReport:
    """The review of quarter ``period`` (customers onboarded before its end), figures exact to the cent."""
    start, end = _moment(period), _moment(period, end=True)
    timelines = await _timelines(session)
    customers = (
        await (await session.connection()).execute(
            select(
                CUSTOMER.c.id, CUSTOMER.c.external_ref, CUSTOMER.c.name, CUSTOMER.c.value_tier,
                CUSTOMER.c.onboarding_tier, CUSTOMER.c.highest_tier,
            ).order_by(CUSTOMER.c.id)
        )
    ).all()  # fmt: skip
    in_review = [c for c in customers if c.id in timelines and timelines[c.id].before(end) is not None]
    load = await _load(session, start, end)
    costs = cost.totals(await cost.cost_to_serve(session, period.start, period.end, rates, now=now))
    warned = await at_risk.at_risk_ids(session, start, end)
    records = await _records(session, period.label)
    rows: list[CustomerReviewRow] = []
    for c in in_review:
        line = timelines[c.id]
        tickets, met, breached = load.get(c.id, (0, 0, 0))
        flags = [
            name
            for name, on in (
                ("below_best", scale.better(c.highest_tier, c.value_tier)),
                ("above_onboarding", scale.better(c.value_tier, c.onboarding_tier)),
                ("at_risk", c.id in warned),
            )
            if on
        ]
        rows.append(
            CustomerReviewRow(
                customer_id=c.id, external_ref=c.external_ref, name=c.name, current_tier=c.value_tier,
                onboarding_tier=c.onboarding_tier, highest_tier=c.highest_tier, tier_at_start=line.before(start),
                tier_at_end=line.before(end) or c.value_tier, tickets=tickets,
                cost_to_serve=costs.get(c.id, Decimal(0)).quantize(Decimal("0.01")), sla_met=met,
                sla_breached=breached, sla_compliance=_share(Decimal(met), Decimal(met + breached)), flags=flags,
                review=records.get(c.id),
            )
        )  # fmt: skip
    return _summarise(period, scale, rates.currency, rows, timelines)


def _summarise(
    period: ReviewPeriod,
    scale: TierScale,
    currency: str,
    rows: list[CustomerReviewRow],
    timelines: dict[int, _Timeline],
) -> TierReviewReport:
    order = list(scale.best_first())
    matrix: dict[tuple[int, int], int] = defaultdict(int)
    slipped = risen = 0
    for r in rows:
        if r.tier_at_start is None:
            continue
        matrix[(r.tier_at_start, r.tier_at_end)] += 1
        slipped += scale.better(r.tier_at_start, r.tier_at_end)
        risen += scale.better(r.tier_at_end, r.tier_at_start)
    transitions = [Transition(from_tier=a, to_tier=b, customers=matrix[(a, b)]) for a in order for b in order]
    quarters: list[QuarterCount] = []
    quarter = period
    for _ in range(4):
        moment = _moment(quarter, end=True)
        counts = dict.fromkeys(order, 0)
        for line in timelines.values():
            if (tier := line.before(moment)) is not None:
                counts[tier] += 1
        quarters.append(QuarterCount(quarter=quarter.label, customers={str(t): counts[t] for t in order}))
        quarter = quarter.previous()
    quarters.reverse()
    bottom = scale.bottom(2)
    low = [r for r in rows if r.tier_at_end in bottom]
    zero = Decimal(0)
    by = {
        "customers": (Decimal(len(low)), Decimal(len(rows))),
        "tickets": (Decimal(sum(r.tickets for r in low)), Decimal(sum(r.tickets for r in rows))),
        "support_cost": (sum((r.cost_to_serve for r in low), zero), sum((r.cost_to_serve for r in rows), zero)),
    }
    shares = {k: _share(part, whole) for k, (part, whole) in by.items()}
    diagnosis = BottomHeavy(
        tiers=list(bottom),
        customers_share=shares["customers"],
        tickets_share=shares["tickets"],
        cost_share=shares["support_cost"],
        bottom_heavy_by=[k for k, s in shares.items() if s is not None and s > BOTTOM_HEAVY_SHARE],
    )
    return TierReviewReport(
        quarter=period.label,
        start=period.start,
        end=period.end,
        best=scale.best,
        tiers=order,
        currency=currency,
        customers=rows,
        transitions=transitions,
        slipped=slipped,
        risen=risen,
        distribution=quarters,
        bottom_heavy=diagnosis,
        signed_off=sum(1 for r in rows if r.review is not None and r.review.closed),
    )


async def _records(session: AsyncSession, quarter: str) -> dict[int, ReviewRecordOut]:
    rows = await session.exec(
        select_rows(TierReviewRecord).where(TierReviewRecord.quarter == quarter).order_by(col(TierReviewRecord.id))
    )
    return {r.customer_id: ReviewRecordOut.of(r) for r in rows.all()}
