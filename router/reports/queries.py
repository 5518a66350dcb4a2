"""Read-only aggregate queries behind the SLA report (SQLAlchemy Core; the database does the counting).

They read ``report_ticket``, one narrow row of facts per ticket kept current by ``router.reports.facts``,
not the millions of audit events and clocks those facts come from. Ticket figures are one hash aggregate
of the cohort into fine cells (support tier x customer tier x priority), rolled up per breakdown; the
percentiles find their values through a histogram (``router.reports.percentiles``) instead of sorting
every duration. Durations are whole milliseconds, so both databases give the same numbers.

This module holds the figures about escalations, rules, customers, backlog, vendors and trends; the
per-cell ticket figures are in ``router.reports.cells`` and the shared helpers in ``router.reports.sql``
(both re-exported here for ``router.reports.service``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models import metadata
from router.models.agents import LEAD_ROLES
from router.reports import rollups
from router.reports.cells import (
    DIMENSIONS,
    breakdown_counts,
    cell_counts,
    distinct_customers,
    duration_percentiles,
    key_name,
    tickets_out,
)
from router.reports.rollups import Coverage
from router.reports.sql import (
    ONE_DAY,
    PERCENTILES,
    Filters,
    audit,
    customer,
    dialect_of,
    facts,
    fetch_all,
    fetch_rows,
    in_cohort,
    percentiles_of,
    scoped,
    seconds_between,
    tune,
)

__all__ = [
    "AGE_BUCKETS",
    "DIMENSIONS",
    "PERCENTILES",
    "Filters",
    "breakdown_counts",
    "cell_counts",
    "distinct_customers",
    "duration_percentiles",
    "key_name",
    "tickets_out",
    "tune",
]

#: Upper bounds (seconds) of the backlog ageing buckets; the last bucket is open-ended.
AGE_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("< 1 day", 86_400.0),
    ("1-3 days", 3 * 86_400.0),
    ("3-7 days", 7 * 86_400.0),
    ("7-30 days", 30 * 86_400.0),
    ("> 30 days", None),
)


async def escalation_paths(session: AsyncSession, f: Filters, cover: Coverage) -> list[dict[str, Any]]:
    """Escalations and de-escalations of cohort tickets by (from tier, to tier, cause)."""
    found: list[Sequence[Any]] = []
    gaps = cover.day_gaps()
    if gaps:
        cause = rollups.escalation_cause()
        from_events = (
            select(audit.c.action, audit.c.from_tier, audit.c.to_tier, cause.label("cause"), func.count())
            .join(facts, facts.c.ticket_id == audit.c.ticket_id)
            .where(audit.c.action.in_(rollups.PATH_ACTIONS), rollups.within(facts.c.created_at, gaps), *scoped(f))
            .group_by(audit.c.action, audit.c.from_tier, audit.c.to_tier, cause)
        )
        found += await fetch_all(session, from_events)
    if cover.days:
        p = rollups.path_table
        from_days = (
            select(p.c.action, p.c.from_tier, p.c.to_tier, p.c.cause, func.sum(p.c.n))
            .where(rollups.within(p.c.day, rollups.runs(cover.days, ONE_DAY)))
            .group_by(p.c.action, p.c.from_tier, p.c.to_tier, p.c.cause)
        )
        found += await fetch_all(session, from_days)
    paths: dict[tuple[Any, ...], int] = {}
    for *key, n in found:
        paths[tuple(key)] = paths.get(tuple(key), 0) + int(n)
    return [
        {"action": a, "from_tier": fr, "to_tier": to, "cause": cause, "n": n}
        for (a, fr, to, cause), n in sorted(paths.items(), key=lambda kv: tuple((v is not None, v) for v in kv[0]))
    ]


async def top_rules(session: AsyncSession, f: Filters, cover: Coverage, limit: int = 10) -> list[dict[str, Any]]:
    """The deciding rule of each escalated cohort ticket (its first ``routed`` event's actor), most first."""
    found: list[Sequence[Any]] = []
    gaps = cover.day_gaps()
    if gaps:
        from_facts = (
            select(facts.c.routed_by, func.count(), func.sum(facts.c.escalation_count))
            .where(
                rollups.within(facts.c.created_at, gaps),
                *scoped(f),
                facts.c.escalation_count > 0,
                facts.c.routed_by.is_not(None),
            )
            .group_by(facts.c.routed_by)
        )
        found += await fetch_all(session, from_facts)
    if cover.days:
        r = rollups.rule_table
        from_days = (
            select(r.c.rule, func.sum(r.c.tickets), func.sum(r.c.escalations))
            .where(rollups.within(r.c.day, rollups.runs(cover.days, ONE_DAY)))
            .group_by(r.c.rule)
        )
        found += await fetch_all(session, from_days)
    totals: dict[str, list[int]] = {}
    for rule, tickets, escalations in found:
        total = totals.setdefault(str(rule), [0, 0])
        total[0] += int(tickets)
        total[1] += int(escalations)
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][1], kv[0]))[:limit]
    return [{"rule": rule, "tickets": t, "escalations": e} for rule, (t, e) in ranked]


async def top_customers(session: AsyncSession, f: Filters, limit: int = 10) -> list[dict[str, Any]]:
    escalations = func.sum(facts.c.escalation_count)
    top = (
        select(facts.c.customer_id, func.count().label("tickets"), escalations.label("escalations"))
        .where(*in_cohort(f), facts.c.escalation_count > 0, facts.c.customer_id.is_not(None))
        .group_by(facts.c.customer_id)
        .order_by(escalations.desc(), facts.c.customer_id)
        .limit(limit)
        .subquery("top")
    )
    stmt = (
        select(
            customer.c.id.label("customer_id"),
            customer.c.name,
            customer.c.value_tier,
            top.c.tickets,
            top.c.escalations,
        )
        .join(top, top.c.customer_id == customer.c.id)
        .order_by(top.c.escalations.desc(), customer.c.id)
    )
    return await fetch_rows(session, stmt)


async def backlog(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """Tickets open now that arrived before ``until``, by age at ``as_of`` (bucket) and support tier."""
    dialect = dialect_of(session)
    age = seconds_between(dialect, literal(f.as_of, type_=facts.c.created_at.type), facts.c.created_at)
    bucket = case(
        *((age < upper, literal(label)) for label, upper in AGE_BUCKETS if upper is not None),
        else_=literal(AGE_BUCKETS[-1][0]),
    ).label("bucket")
    stmt = (
        select(bucket, facts.c.support_tier, func.count().label("n"))
        .where(facts.c.is_open, facts.c.created_at < f.until, *scoped(f))
        .group_by(bucket, facts.c.support_tier)
    )
    return await fetch_rows(session, stmt)


async def vendor_turnaround(session: AsyncSession, f: Filters) -> dict[str, Any]:
    """Tier-4 handoffs of cohort tickets: time to deliver the webhook, to the vendor's first update, and to
    resolution, each from the handoff (the first ``vendor_handoff`` event)."""
    dialect = dialect_of(session)
    handoff = facts.c.vendor_handoff_at

    def since_handoff(moment: Any, when: ColumnElement[bool]) -> ColumnElement[float | None]:
        return case((when, seconds_between(dialect, moment, handoff)))

    handed = (
        select(
            literal("all").label("key"),
            since_handoff(facts.c.vendor_delivered_at, facts.c.vendor_delivered_at.is_not(None)).label("delivery"),
            since_handoff(facts.c.vendor_updated_at, facts.c.vendor_updated_at >= handoff).label("first_update"),
            since_handoff(facts.c.resolved_at, facts.c.resolved_at >= handoff).label("resolution"),
        )
        .where(*in_cohort(f), handoff.is_not(None))
        .subquery("handed")
    )
    metrics = ("delivery", "first_update", "resolution")
    counts = [
        func.count().label("handoffs"),
        func.count(handed.c.delivery).label("delivered"),
        func.count(handed.c.first_update).label("vendor_updated"),
        func.count(handed.c.resolution).label("resolved"),
    ]
    if dialect == "postgresql":
        # One pass: the counts and the three percentile_cont (NULLs ignored) of the handed-off tickets.
        fractions = postgresql.array([literal(p, Float) for p in PERCENTILES])
        ps = {
            m: type_coerce(func.percentile_cont(fractions).within_group(handed.c[m]), postgresql.ARRAY(Float)).label(m)
            for m in metrics
        }
        out: dict[str, Any] = (await fetch_rows(session, select(*counts, *ps.values())))[0]
        for m in metrics:
            values = out.pop(m)
            out[m] = (
                {} if values is None else {f"p{round(p * 100)}": v for p, v in zip(PERCENTILES, values, strict=True)}
            )
        return out
    out = (await fetch_rows(session, select(*counts)))[0]
    for metric in metrics:
        src = select(handed.c.key, handed.c[metric].label("v")).subquery()
        found = await fetch_rows(session, percentiles_of(dialect, src))
        out[metric] = found[0] if found else {}
    return out


def _bucket(dialect: str, column: Any, granularity: str) -> ColumnElement[Any]:
    """The day or ISO week (its Monday) a UTC timestamp falls in."""
    if dialect == "postgresql":
        return func.date_trunc(granularity, func.timezone("UTC", column))
    if granularity == "week":
        return func.date(column, "-6 days", "weekday 1")
    return func.date(column)


def _day_bucket(dialect: str, day: Any, granularity: str) -> ColumnElement[Any]:
    """``_bucket`` of a roll-up's UTC day."""
    if dialect == "postgresql":
        return func.date_trunc(granularity, cast(day, DateTime))
    if granularity == "week":
        return func.date(day, "-6 days", "weekday 1")
    return func.date(day)


async def trends(session: AsyncSession, f: Filters, cover: Coverage) -> list[dict[str, Any]]:
    """Per day or week: tickets in, tickets out and SLA breaches (``sla_breached`` events: every breach of
    every clock in every tier, where the clock row keeps only the last). Tickets in and out come from the
    roll-ups for the covered days and from the facts for the rest."""
    dialect = dialect_of(session)
    g = f.granularity
    one = literal(1).label("n")
    parts: list[Any] = []
    gaps = cover.day_gaps()
    if gaps:
        parts += [
            select(_bucket(dialect, facts.c.created_at, g).label("bucket"), literal("in").label("series"), one).where(
                rollups.within(facts.c.created_at, gaps), *scoped(f)
            ),
            select(_bucket(dialect, facts.c.resolved_at, g).label("bucket"), literal("out").label("series"), one).where(
                rollups.within(facts.c.resolved_at, gaps), *scoped(f)
            ),
        ]
    if cover.days:
        day = rollups.day_table
        covered = rollups.within(day.c.day, rollups.runs(cover.days, ONE_DAY))
        bucket = _day_bucket(dialect, day.c.day, g).label("bucket")
        parts += [
            select(bucket, literal("in").label("series"), day.c.tickets_in.label("n")).where(covered),
            select(bucket, literal("out").label("series"), day.c.tickets_out.label("n")).where(covered),
        ]
    breached = select(_bucket(dialect, audit.c.at, g).label("bucket"), literal("breaches").label("series"), one).where(
        audit.c.action == "sla_breached", audit.c.at >= f.since, audit.c.at < f.until
    )
    if f.customer_id is not None or f.agent_id is not None:
        breached = breached.join(facts, facts.c.ticket_id == audit.c.ticket_id).where(*scoped(f))
    u = union_all(*parts, breached).subquery("u")
    counted = (
        select(u.c.bucket, u.c.series, func.sum(u.c.n).label("n"))
        .group_by(u.c.bucket, u.c.series)
        .having(func.sum(u.c.n) > 0)
        .subquery("c")
    )
    # Formatting the few buckets, not every row, as text: to_char per row costs more than the count.
    label = func.to_char(counted.c.bucket, "YYYY-MM-DD") if dialect == "postgresql" else counted.c.bucket
    stmt = select(label.label("bucket"), counted.c.series, counted.c.n).order_by(counted.c.bucket, counted.c.series)
    return await fetch_rows(session, stmt)


async def customers_by_tier(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """How the customer base spreads over value tiers (current tier), whether or not they wrote in."""
    stmt = select(customer.c.value_tier, func.count().label("customers")).group_by(customer.c.value_tier)
    if f.customer_id is not None:
        stmt = stmt.where(customer.c.id == f.customer_id)
    return await fetch_rows(session, stmt.order_by(customer.c.value_tier))


async def lead_recipients(session: AsyncSession) -> Sequence[tuple[int, str, str]]:
    """Leads and admins with an email address: who receives the weekly digest."""
    agent = metadata.tables["agent"]
    stmt = (
        select(agent.c.id, agent.c.name, agent.c.email)
        .where(agent.c.role.in_(LEAD_ROLES), agent.c.email != "")
        .order_by(agent.c.id)
    )
    return [(int(r["id"]), str(r["name"]), str(r["email"])) for r in await fetch_rows(session, stmt)]
