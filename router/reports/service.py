"""Assemble the SLA report from its aggregate queries: each section reads the roll-ups for the clean whole
days (weeks) of its window and the per-ticket facts for the rest (``router.reports.rollups``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from router.assignment import figures as assignment_figures
from router.errors import Invalid
from router.models.columns import utcnow
from router.offload import SideLoop
from router.reports import queries, rollups
from router.reports.queries import Filters
from router.reports.schemas import (
    AgeBucket,
    Breakdown,
    CauseCount,
    CustomerCount,
    CustomerTierRow,
    CustomerTierView,
    EscalationPath,
    Percentiles,
    RuleCount,
    SlaReport,
    TierTime,
    TrendPoint,
    VendorTurnaround,
)
from router.self_service import figures
from rules.vocabulary import SUPPORT_TIERS, customer_scale

#: The report's sections in the order they run; the CLI's progress bar advances once per section.
SECTIONS = (
    "breakdowns", "time in tier", "escalations", "top escalators", "backlog", "vendors", "trends", "self-service",
    "assignment",
)  # fmt: skip
Progress = Callable[[str], None]
T = TypeVar("T")
#: A report still running after this long is cancelled (503): over all history it took 10 s.
REPORT_SECONDS = 60.0
#: Reports run here, off the request loop: most of their time is Python over the aggregates' rows (the
#: quarterly tier review too: ``router.reports.tier_review``).
side_loop = SideLoop("tierroute-reports")
_AGE_ORDER = {label: i for i, (label, _) in enumerate(queries.AGE_BUCKETS)}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _ms(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _pct(row: dict[str, Any] | None) -> Percentiles:
    row = row or {}
    return Percentiles(p50=_ms(row.get("p50")), p90=_ms(row.get("p90")))


def make_filters(
    since: datetime,
    until: datetime,
    *,
    customer_id: int | None = None,
    agent_id: int | None = None,
    granularity: str = "day",
    now: datetime | None = None,
) -> Filters:
    if until <= since:
        raise Invalid("the report's window is empty: until must be after since")
    if granularity not in ("day", "week"):
        raise Invalid("granularity is day or week")
    return Filters(
        since=since,
        until=until,
        as_of=min(until, now or utcnow()),
        customer_id=customer_id,
        agent_id=agent_id,
        granularity=granularity,
    )


def _breakdowns(
    counts: list[dict[str, Any]],
    customers: list[dict[str, Any]],
    pcts: dict[tuple[str, str, str], dict[float, float]],
    outs: list[dict[str, Any]],
) -> dict[str, list[Breakdown]]:
    name = queries.key_name
    by_customers = {(r["dim"], name(r["dim"], r["key"])): int(r["n"]) for r in customers}
    by_out = {(r["dim"], name(r["dim"], r["key"])): int(r["n"]) for r in outs}

    def pct(metric: str, dim: str, key: str) -> Percentiles:
        found = pcts.get((metric, dim, key), {})
        ms = [found.get(p) for p in queries.PERCENTILES]
        return Percentiles(
            p50=_ms(None if ms[0] is None else ms[0] / 1000), p90=_ms(None if ms[1] is None else ms[1] / 1000)
        )

    rows: dict[str, list[Breakdown]] = {d: [] for d in queries.DIMENSIONS}
    for c in counts:
        dim = c["dim"]
        key = name(dim, c["key"])
        tickets_in = int(c["tickets_in"])
        fr_done = int(c["fr_met"]) + int(c["fr_breached"])
        res_done = int(c["res_met"]) + int(c["res_breached"])
        rows[dim].append(
            Breakdown(
                dimension=dim,
                key=key,
                tickets_in=tickets_in,
                tickets_out=by_out.get((dim, key), 0),
                customers=by_customers.get((dim, key), 0),
                resolved=int(c["resolved"]),
                escalated=int(c["escalated"]),
                reopened=int(c["reopened"]),
                reopen_rate=_ratio(int(c["reopened"]), tickets_in),
                breaches=int(c["breaches"]),
                first_response_met=int(c["fr_met"]),
                first_response_breached=int(c["fr_breached"]),
                first_response_open=int(c["fr_open"]),
                first_response_unanswered=int(c["fr_unanswered"]),
                first_response_compliance=_ratio(int(c["fr_met"]), fr_done),
                resolution_met=int(c["res_met"]),
                resolution_breached=int(c["res_breached"]),
                resolution_open=int(c["res_open"]),
                resolution_compliance=_ratio(int(c["res_met"]), res_done),
                first_response_business=pct("fr_business", dim, key),
                first_response_wall=pct("fr_wall", dim, key),
                resolution_business=pct("res_business", dim, key),
                resolution_wall=pct("res_wall", dim, key),
            )
        )
    # Groups that only resolved tickets in the window (none arrived) still show their tickets out; so does
    # the total of a window in which no ticket arrived.
    for (dim, key), n in by_out.items():
        if not any(b.key == key for b in rows[dim]):
            rows[dim].append(_empty(dim, key, n))
    for dim in rows:
        rows[dim].sort(key=lambda b: b.key)
    return rows


def _time_in_tier(counts: list[dict[str, Any]]) -> list[TierTime]:
    """Per tier, from the cohort's tier sums (the ``all`` row) and its open stays (the support-tier rows)."""
    total = next((c for c in counts if c["dim"] == "all"), None)
    if total is None:
        return []
    open_ms = {str(c["key"]): int(c["open_ms"]) for c in counts if c["dim"] == "support_tier"}
    out = []
    for tier in SUPPORT_TIERS:
        stays = int(total[f"tier{tier}_stays"])
        if stays:
            seconds = (int(total[f"tier{tier}_ms"]) + open_ms.get(str(tier), 0)) / 1000
            out.append(
                TierTime(tier=tier, stays=stays, seconds=round(seconds, 3), mean_seconds=round(seconds / stays, 3))
            )
    return out


def _empty(dim: str, key: str, tickets_out: int) -> Breakdown:
    none = Percentiles()
    return Breakdown(
        dimension=dim,
        key=key,
        tickets_in=0,
        tickets_out=tickets_out,
        customers=0,
        resolved=0,
        escalated=0,
        reopened=0,
        reopen_rate=None,
        breaches=0,
        first_response_met=0,
        first_response_breached=0,
        first_response_open=0,
        first_response_unanswered=0,
        first_response_compliance=None,
        resolution_met=0,
        resolution_breached=0,
        resolution_open=0,
        resolution_compliance=None,
        first_response_business=none,
        first_response_wall=none,
        resolution_business=none,
        resolution_wall=none,
    )


def _customer_tiers(customers: list[dict[str, Any]], by_tier: list[Breakdown]) -> CustomerTierView:
    """Customers and tickets per value tier, the best tier first on the installation's scale."""
    scale = customer_scale()
    counts = {int(r["value_tier"]): int(r["customers"]) for r in customers}
    tickets = {int(b.key): b for b in by_tier if b.key.isdigit()}
    all_customers = sum(counts.values())
    all_tickets = sum(b.tickets_in for b in tickets.values())
    rows = [
        CustomerTierRow(
            value_tier=tier,
            customers=counts.get(tier, 0),
            customer_share=_ratio(counts.get(tier, 0), all_customers),
            tickets_in=tickets[tier].tickets_in if tier in tickets else 0,
            ticket_share=_ratio(tickets[tier].tickets_in, all_tickets) if tier in tickets else None,
            first_response_compliance=tickets[tier].first_response_compliance if tier in tickets else None,
            resolution_compliance=tickets[tier].resolution_compliance if tier in tickets else None,
        )
        for tier in scale.best_first()
    ]
    low = sum(counts.get(tier, 0) for tier in scale.bottom(2))  # the two worst tiers, whichever end they are
    return CustomerTierView(rows=rows, bottom_heavy=all_customers > 0 and low * 2 > all_customers)


async def _step(progress: Progress | None, name: str, work: Awaitable[Any]) -> Any:
    result = await work
    if progress is not None:
        progress(name)
    return result


async def sla_report(session: AsyncSession, f: Filters, progress: Progress | None = None) -> SlaReport:
    """The whole report for ``f``; ``progress`` is told the name of each section as it finishes.

    On PostgreSQL it reads one snapshot, on a connection of its own in a read-only REPEATABLE READ
    transaction: which days the roll-ups cover, the roll-ups and the facts must be of one moment, or a
    change committed while the report runs could be counted in both. (SQLite's read transaction already
    is one snapshot.)"""
    bind = session.bind
    if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
        snapshot = bind.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with AsyncSession(snapshot) as reading:
            return await _report(reading, f, progress)
    return await _report(session, f, progress)


async def sla_report_off_loop(engine: AsyncEngine, f: Filters, finish: Callable[[SlaReport], T]) -> T:
    """``finish(report)`` (the report rendered, or as it is) computed on the reports' own event loop and
    database connections, so the request loop keeps answering; ``TooSlow`` (503) after ``REPORT_SECONDS``."""

    async def work() -> T:
        async with AsyncSession(side_loop.reader_like(engine), expire_on_commit=False) as session:
            return finish(await sla_report(session, f))

    return await side_loop.run(REPORT_SECONDS, "the report", work(), hint="choose a shorter window (since, until)")


async def _report(session: AsyncSession, f: Filters, progress: Progress | None) -> SlaReport:
    await queries.tune(session)
    filtered = f.customer_id is not None or f.agent_id is not None
    cover = await rollups.coverage(await session.connection(), f.since, f.until, filtered=filtered)
    cells = await queries.cell_counts(session, f, cover)
    counts = queries.breakdown_counts(cells, f.as_of)
    customer_counts = await queries.distinct_customers(session, f)
    pcts = await queries.duration_percentiles(session, f, cover, cells)
    outs = await queries.tickets_out(session, f, cover)
    groups = _breakdowns(counts, customer_counts, pcts, outs)
    if progress is not None:
        progress("breakdowns")
    tiers = _time_in_tier(counts)
    if progress is not None:
        progress("time in tier")
    paths = await _step(progress, "escalations", queries.escalation_paths(session, f, cover))
    rules = await queries.top_rules(session, f, cover)
    top = await _step(progress, "top escalators", queries.top_customers(session, f))
    ages = await _step(progress, "backlog", queries.backlog(session, f))
    vendor = await _step(progress, "vendors", queries.vendor_turnaround(session, f))
    trend_rows = await queries.trends(session, f, cover)
    customers = await _step(progress, "trends", queries.customers_by_tier(session, f))
    self_service = await _step(progress, "self-service", figures.self_service_figures(session, f))
    assignment = await _step(
        progress, "assignment", assignment_figures.figures(session, f.since, f.until, agent_id=f.agent_id)
    )

    causes: dict[str, int] = {}
    for r in paths:
        if r["action"] == "escalated":
            causes[str(r["cause"])] = causes.get(str(r["cause"]), 0) + int(r["n"])
    points: dict[str, dict[str, int]] = {}
    for r in trend_rows:
        points.setdefault(str(r["bucket"]), {})[str(r["series"])] = int(r["n"])
    return SlaReport(
        since=f.since,
        until=f.until,
        as_of=f.as_of,
        customer_id=f.customer_id,
        agent_id=f.agent_id,
        granularity=f.granularity,
        totals=groups["all"][0] if groups["all"] else _empty("all", "all", 0),
        by_support_tier=groups["support_tier"],
        by_customer_tier=groups["customer_tier"],
        by_priority=groups["priority"],
        time_in_tier=tiers,
        escalation_paths=[
            EscalationPath(
                action=r["action"], from_tier=r["from_tier"], to_tier=r["to_tier"], cause=r["cause"], count=r["n"]
            )
            for r in paths
        ],
        escalations_by_cause=[CauseCount(cause=cause, count=n) for cause, n in sorted(causes.items())],
        deescalations=sum(int(r["n"]) for r in paths if r["action"] == "deescalated"),
        top_rules=[RuleCount(**r) for r in rules],
        top_customers=[CustomerCount(**r) for r in top],
        backlog=sorted(
            (AgeBucket(bucket=r["bucket"], support_tier=r["support_tier"], count=r["n"]) for r in ages),
            key=lambda a: (_AGE_ORDER[a.bucket], -1 if a.support_tier is None else a.support_tier),
        ),
        vendor=VendorTurnaround(
            handoffs=vendor["handoffs"],
            delivered=vendor["delivered"],
            vendor_updated=vendor["vendor_updated"],
            resolved=vendor["resolved"],
            delivery=_pct(vendor["delivery"]),
            first_update=_pct(vendor["first_update"]),
            resolution=_pct(vendor["resolution"]),
        ),
        trends=[
            TrendPoint(bucket=b, tickets_in=v.get("in", 0), tickets_out=v.get("out", 0), breaches=v.get("breaches", 0))
            for b, v in sorted(points.items())
        ],
        customer_tiers=_customer_tiers(customers, groups["customer_tier"]),
        self_service=self_service,
        assignment=assignment,
    )
