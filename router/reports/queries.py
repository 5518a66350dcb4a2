"""Read-only aggregate queries behind the SLA report (SQLAlchemy Core; the database does the counting).

Every figure is one GROUP BY over a cohort of tickets, so the work stays in SQL at a million tickets.
Percentiles are ``percentile_cont`` on PostgreSQL; SQLite has none, so there the same linear
interpolation is computed from ``row_number()``/``count()`` windows — the numbers are identical.
Durations are seconds rounded to milliseconds in SQL, so both databases give the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    or_,
    select,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement, Executable, Select
from sqlalchemy.sql.selectable import CTE, Subquery
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models import metadata
from router.tickets.models import OPEN_STATUSES

ticket = metadata.tables["ticket"]
audit = metadata.tables["audit_event"]
clock = metadata.tables["sla_clock"]
customer = metadata.tables["customer"]
delivery = metadata.tables["webhook_delivery"]

#: The breakdowns every ticket figure is shown by (``all`` is the total).
DIMENSIONS = ("all", "support_tier", "customer_tier", "priority")
#: Actions that put a ticket into a tier or take it out (resolution ends the stay).
TIER_ACTIONS = ("routed", "escalated", "deescalated", "reopened", "resolved")
#: Upper bounds (seconds) of the backlog ageing buckets; the last bucket is open-ended.
AGE_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("< 1 day", 86_400.0),
    ("1-3 days", 3 * 86_400.0),
    ("3-7 days", 7 * 86_400.0),
    ("7-30 days", 30 * 86_400.0),
    ("> 30 days", None),
)
PERCENTILES = (0.5, 0.9)


@dataclass(frozen=True)
class Filters:
    """The report's window ``[since, until)`` and optional customer/agent filters; ``as_of`` is
    when open tickets' clocks are read (the earlier of ``until`` and now)."""

    since: datetime
    until: datetime
    as_of: datetime
    customer_id: int | None = None
    agent_id: int | None = None
    granularity: str = "day"


def _dialect(session: AsyncSession) -> str:
    bind = session.get_bind()
    return bind.dialect.name


async def _rows(session: AsyncSession, stmt: Executable, *, returns: bool = True) -> list[dict[str, Any]]:
    """Run a Core statement on the session's connection; rows as dicts."""
    result = await (await session.connection()).execute(stmt)
    return [dict(r._mapping) for r in result.all()] if returns else []


def round3(dialect: str, value: Any) -> ColumnElement[float]:
    """SQLite's julianday arithmetic is off by microseconds: round it to the millisecond. PostgreSQL's
    float epoch is exact to the microsecond and stays as it is (rounding per row through numeric costs
    seconds at a million rows); the service rounds every result to the millisecond."""
    if dialect == "postgresql":
        return cast(value, Float)
    return func.round(value, 3)


def seconds_between(dialect: str, end: Any, start: Any) -> ColumnElement[float]:
    """``end - start`` in seconds (double precision on both databases)."""
    if dialect == "postgresql":
        return cast(func.date_part("epoch", end - start), Float)
    return round3(dialect, (func.julianday(end) - func.julianday(start)) * 86_400.0)


async def tune(session: AsyncSession) -> None:
    """PostgreSQL: room for the report's sorts and hashes in memory, and no JIT (it compiles for longer than
    these statements run). ``SET LOCAL`` ends with the transaction."""
    if _dialect(session) == "postgresql":
        await _rows(session, text("SET LOCAL work_mem = '256MB'"), returns=False)
        await _rows(session, text("SET LOCAL jit = off"), returns=False)


def _ticket_filters(f: Filters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.customer_id is not None:
        conds.append(ticket.c.customer_id == f.customer_id)
    if f.agent_id is not None:
        # Tickets the agent worked on (any event they made), not only those they hold now: an escalation
        # hands the ticket on and clears the assignee.
        touched = select(audit.c.ticket_id).where(audit.c.actor == f"agent:{f.agent_id}")
        conds.append(ticket.c.id.in_(touched))
    return conds


def cohort(f: Filters) -> Select[Any]:
    """Tickets created in the window (after the customer/agent filters): most figures describe them."""
    return select(ticket).where(ticket.c.created_at >= f.since, ticket.c.created_at < f.until, *_ticket_filters(f))


def _key(dim: str, source: Any) -> ColumnElement[str]:
    if dim == "all":
        return cast(literal("all"), String)
    return cast(source.c[dim], String)


def _per_ticket(f: Filters, dialect: str) -> CTE:
    """One row per cohort ticket with its clocks' outcome and durations: the base of every breakdown."""
    t = cohort(f).subquery("t")
    fr = clock.alias("fr")
    nr = clock.alias("nr")
    rc = clock.alias("rc")
    joined = (
        t.outerjoin(fr, and_(fr.c.ticket_id == t.c.id, fr.c.kind == "first_response"))
        .outerjoin(nr, and_(nr.c.ticket_id == t.c.id, nr.c.kind == "next_response"))
        .outerjoin(rc, and_(rc.c.ticket_id == t.c.id, rc.c.kind == "resolution"))
    )

    def outcome(c: Any) -> ColumnElement[str | None]:
        return case(
            (c.c.id.is_(None), null()),
            (or_(c.c.breaches > 0, c.c.state == "breached"), literal("breached")),
            (c.c.stopped_at.is_not(None), literal("met")),
            else_=literal("open"),
        )

    resolved = ticket_resolved(t)
    return (
        select(
            t.c.id,
            t.c.customer_id,
            cast(t.c.support_tier, String).label("support_tier"),
            cast(t.c.customer_tier, String).label("customer_tier"),
            t.c.priority,
            t.c.escalation_count,
            t.c.reopen_count,
            t.c.resolved_at,
            outcome(fr).label("fr_outcome"),
            outcome(rc).label("res_outcome"),
            (func.coalesce(fr.c.breaches, 0) + func.coalesce(nr.c.breaches, 0) + func.coalesce(rc.c.breaches, 0)).label(
                "breaches"
            ),
            case((fr.c.stopped_at.is_not(None), round3(dialect, fr.c.total_seconds))).label("fr_business"),
            case((fr.c.stopped_at.is_not(None), seconds_between(dialect, fr.c.stopped_at, t.c.created_at))).label(
                "fr_wall"
            ),
            case((and_(resolved, rc.c.stopped_at.is_not(None)), round3(dialect, rc.c.total_seconds))).label(
                "res_business"
            ),
            case((resolved, seconds_between(dialect, t.c.resolved_at, t.c.created_at))).label("res_wall"),
        )
        .select_from(joined)
        .cte("per_ticket")
    )


def ticket_resolved(t: Any) -> ColumnElement[bool]:
    return and_(t.c.resolved_at.is_not(None), t.c.status.in_(("resolved", "closed")))


METRICS = ("fr_business", "fr_wall", "res_business", "res_wall")


def _count_if(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _pg_percentiles(v: Any) -> ColumnElement[Any]:
    """All of ``PERCENTILES`` from one ordered-set aggregate (one sort), as a float array."""
    fractions = postgresql.array([literal(p, Float) for p in PERCENTILES])
    return type_coerce(func.percentile_cont(fractions).within_group(v), postgresql.ARRAY(Float))


def _breakdown_counts(pt: CTE, dim: str, dialect: str) -> Select[Any]:
    key = _key(dim, pt)
    cols: list[ColumnElement[Any]] = [
        literal(dim).label("dim"),
        key.label("key"),
        func.count().label("tickets_in"),
        func.count(distinct(pt.c.customer_id)).label("customers"),
        _count_if(pt.c.resolved_at.is_not(None)).label("resolved"),
        _count_if(pt.c.escalation_count > 0).label("escalated"),
        _count_if(pt.c.reopen_count > 0).label("reopened"),
        _count_if(pt.c.fr_outcome == "met").label("fr_met"),
        _count_if(pt.c.fr_outcome == "breached").label("fr_breached"),
        _count_if(pt.c.fr_outcome == "open").label("fr_open"),
        _count_if(pt.c.res_outcome == "met").label("res_met"),
        _count_if(pt.c.res_outcome == "breached").label("res_breached"),
        _count_if(pt.c.res_outcome == "open").label("res_open"),
        func.coalesce(func.sum(pt.c.breaches), 0).label("breaches"),
    ]
    if dialect == "postgresql":
        # The percentiles ride in the same statement, so the per-ticket CTE is computed once.
        cols += [_pg_percentiles(pt.c[m]).label(f"{m}_ps") for m in METRICS]
    stmt = select(*cols).select_from(pt)
    return stmt if dim == "all" else stmt.group_by(pt.c[dim])


def percentiles(dialect: str, src: Subquery) -> Select[Any]:
    """``(key, p50, p90)`` of ``src.v`` per ``src.key`` (NULL values ignored), ``percentile_cont`` semantics."""
    rows = select(src.c.key, src.c.v).where(src.c.v.is_not(None))
    if dialect == "postgresql":
        # One ordered-set aggregate for all the percentiles: one sort per group instead of one each.
        r = rows.subquery("r")
        agg = select(r.c.key, _pg_percentiles(r.c.v).label("ps")).group_by(r.c.key).subquery("agg")
        return select(agg.c.key, *(agg.c.ps[i + 1].label(f"p{round(p * 100)}") for i, p in enumerate(PERCENTILES)))
    ranked = select(
        src.c.key,
        cast(src.c.v, Float).label("v"),
        func.row_number().over(partition_by=src.c.key, order_by=src.c.v).label("rn"),
        func.count().over(partition_by=src.c.key).label("n"),
    ).where(src.c.v.is_not(None))
    w = ranked.subquery("w")
    cols = []
    for p in PERCENTILES:
        pos = (w.c.n - 1) * p
        lo = cast(pos, Integer)  # truncation is floor for positions >= 0
        lo_v = func.max(case((w.c.rn == lo + 1, w.c.v)))
        hi_v = func.coalesce(func.max(case((w.c.rn == lo + 2, w.c.v))), lo_v)
        frac = func.max(pos - lo)
        cols.append((lo_v + frac * (hi_v - lo_v)).label(f"p{round(p * 100)}"))
    return select(w.c.key, *cols).group_by(w.c.key)


async def breakdowns(session: AsyncSession, f: Filters) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Counts per (dimension, key), and percentiles per (metric, dimension, key)."""
    dialect = _dialect(session)
    pt = _per_ticket(f, dialect)
    counts = union_all(*(_breakdown_counts(pt, d, dialect) for d in DIMENSIONS))
    count_rows = await _rows(session, counts)
    if dialect == "postgresql":
        pct = [
            {
                "metric": m,
                "dim": r["dim"],
                "key": r["key"],
                **dict(zip(("p50", "p90"), r.pop(f"{m}_ps") or (), strict=False)),
            }
            for r in count_rows
            for m in METRICS
        ]
        return count_rows, pct
    parts = []
    for metric in METRICS:
        for dim in DIMENSIONS:
            src = select(_key(dim, pt).label("key"), pt.c[metric].label("v")).subquery()
            q = percentiles(dialect, src).subquery()
            parts.append(select(literal(metric).label("metric"), literal(dim).label("dim"), q))
    pct_rows = await _rows(session, union_all(*parts))
    return count_rows, pct_rows


async def tickets_out(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """Tickets resolved in the window (whenever they arrived), per dimension and key."""
    done = (
        select(ticket)
        .where(ticket.c.resolved_at >= f.since, ticket.c.resolved_at < f.until, *_ticket_filters(f))
        .subquery("done")
    )
    parts = []
    for dim in DIMENSIONS:
        stmt = select(literal(dim).label("dim"), _key(dim, done).label("key"), func.count().label("n")).select_from(
            done
        )
        parts.append(stmt if dim == "all" else stmt.group_by(done.c[dim]))
    return await _rows(session, union_all(*parts))


def _micros_since(dialect: str, moment: Any, origin: datetime) -> ColumnElement[int]:
    """Whole microseconds (milliseconds on SQLite, whose julianday is not finer) from ``origin``: integers,
    so the sums below are exact at any size."""
    if dialect == "postgresql":
        return cast(func.round(func.date_part("epoch", moment - origin) * 1_000_000), BigInteger)
    days = func.julianday(moment) - func.julianday(literal(origin, type_=audit.c.at.type))
    return cast(func.round(days * 86_400_000), BigInteger) * 1000


async def time_in_tier(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """Seconds cohort tickets spent in each tier, and the number of stays.

    A stay starts with an event that puts the ticket in a tier (``routed``, ``escalated``, ``deescalated``,
    ``reopened``: its ``to_tier``) and ends with the ticket's next tier event (``escalated``,
    ``deescalated`` or ``resolved``: its ``from_tier`` is the tier left); a stay still open ends at
    ``as_of``. Summing ``end - start`` over stays telescopes into sums over single events — the same
    numbers as pairing events with ``LEAD(at) OVER (PARTITION BY ticket_id ORDER BY seq)``, without
    sorting millions of events: one hash aggregate over integer microseconds.
    """
    dialect = _dialect(session)
    t = cohort(f).subquery("t")
    at = _micros_since(dialect, audit.c.at, f.since)
    starts = (
        select(audit.c.to_tier.label("tier"), (-at).label("us"), literal(1).label("stay"))
        .join(t, t.c.id == audit.c.ticket_id)
        .where(audit.c.action.in_(("routed", "escalated", "deescalated", "reopened")), audit.c.to_tier.is_not(None))
    )
    ends = (
        select(audit.c.from_tier.label("tier"), at.label("us"), literal(0).label("stay"))
        .join(t, t.c.id == audit.c.ticket_id)
        .where(audit.c.action.in_(("escalated", "deescalated", "resolved")), audit.c.from_tier.is_not(None))
    )
    # A ticket still open is in its current tier's open stay, which ends at as_of.
    still_open = select(
        t.c.support_tier.label("tier"),
        _micros_since(dialect, literal(f.as_of, type_=audit.c.at.type), f.since).label("us"),
        literal(0).label("stay"),
    ).where(t.c.status.in_([s.value for s in OPEN_STATUSES]), t.c.support_tier.is_not(None))
    u = union_all(starts, ends, still_open).subquery("u")
    stmt = (
        select(u.c.tier, func.sum(u.c.stay).label("stays"), (func.sum(u.c.us) / 1_000_000.0).label("seconds"))
        .group_by(u.c.tier)
        .order_by(u.c.tier)
    )
    return await _rows(session, stmt)


async def escalation_paths(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """Escalations and de-escalations of cohort tickets by (from tier, to tier, cause)."""
    t = cohort(f).with_only_columns(ticket.c.id).subquery("t")
    cause = case((audit.c.action == "escalated", func.coalesce(audit.c.data["cause"].as_string(), "agent")))
    stmt = (
        select(
            audit.c.action,
            audit.c.from_tier,
            audit.c.to_tier,
            cause.label("cause"),
            func.count().label("n"),
        )
        .join(t, t.c.id == audit.c.ticket_id)
        .where(audit.c.action.in_(("escalated", "deescalated")))
        .group_by(audit.c.action, audit.c.from_tier, audit.c.to_tier, cause)
        .order_by(audit.c.action, audit.c.from_tier, audit.c.to_tier, cause)
    )
    return await _rows(session, stmt)


async def escalation_causes(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """Escalations and de-escalations of cohort tickets by cause (``agent``/``sla``; de-escalations apart)."""
    t = cohort(f).with_only_columns(ticket.c.id).subquery("t")
    cause = case(
        (audit.c.action == "escalated", func.coalesce(audit.c.data["cause"].as_string(), "agent")),
        else_=literal("deescalation"),
    )
    stmt = (
        select(cause.label("cause"), func.count().label("n"))
        .join(t, t.c.id == audit.c.ticket_id)
        .where(audit.c.action.in_(("escalated", "deescalated")))
        .group_by(cause)
        .order_by(cause)
    )
    return await _rows(session, stmt)


async def top_rules(session: AsyncSession, f: Filters, limit: int = 10) -> list[dict[str, Any]]:
    """The deciding rule of each escalated cohort ticket (the ``routed`` event's actor), most first."""
    t = cohort(f).where(ticket.c.escalation_count > 0).subquery("t")
    stmt = (
        select(
            audit.c.actor.label("rule"),
            func.count().label("tickets"),
            func.sum(t.c.escalation_count).label("escalations"),
        )
        .join(t, t.c.id == audit.c.ticket_id)
        .where(audit.c.action == "routed")
        .group_by(audit.c.actor)
        .order_by(func.sum(t.c.escalation_count).desc(), audit.c.actor)
        .limit(limit)
    )
    return await _rows(session, stmt)


async def top_customers(session: AsyncSession, f: Filters, limit: int = 10) -> list[dict[str, Any]]:
    t = cohort(f).where(ticket.c.escalation_count > 0).subquery("t")
    stmt = (
        select(
            customer.c.id.label("customer_id"),
            customer.c.name,
            customer.c.value_tier,
            func.count().label("tickets"),
            func.sum(t.c.escalation_count).label("escalations"),
        )
        .join(t, t.c.customer_id == customer.c.id)
        .group_by(customer.c.id, customer.c.name, customer.c.value_tier)
        .order_by(func.sum(t.c.escalation_count).desc(), customer.c.id)
        .limit(limit)
    )
    return await _rows(session, stmt)


async def backlog(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """Tickets open now that arrived before ``until``, by age at ``as_of`` (bucket) and support tier."""
    dialect = _dialect(session)
    age = seconds_between(dialect, literal(f.as_of, type_=ticket.c.created_at.type), ticket.c.created_at)
    bucket = case(
        *((age < upper, literal(label)) for label, upper in AGE_BUCKETS if upper is not None),
        else_=literal(AGE_BUCKETS[-1][0]),
    ).label("bucket")
    stmt = (
        select(bucket, ticket.c.support_tier, func.count().label("n"))
        .where(
            ticket.c.status.in_([s.value for s in OPEN_STATUSES]), ticket.c.created_at < f.until, *_ticket_filters(f)
        )
        .group_by(bucket, ticket.c.support_tier)
    )
    return await _rows(session, stmt)


async def vendor_turnaround(session: AsyncSession, f: Filters) -> dict[str, Any]:
    """Tier-4 handoffs of cohort tickets: time to deliver the webhook, to the vendor's first update, and to
    resolution, each from the handoff (the first ``vendor_handoff`` event)."""
    dialect = _dialect(session)
    t = cohort(f).subquery("t")
    per = (
        select(
            t.c.id,
            t.c.resolved_at,
            func.min(case((audit.c.action == "vendor_handoff", audit.c.at))).label("handoff_at"),
            func.min(case((audit.c.action == "vendor_updated", audit.c.at))).label("updated_at"),
        )
        .join(t, t.c.id == audit.c.ticket_id)
        .where(audit.c.action.in_(("vendor_handoff", "vendor_updated")))
        .group_by(t.c.id, t.c.resolved_at)
        .subquery("per")
    )
    deliver = (
        select(delivery.c.ticket_id, func.min(delivery.c.delivered_at).label("delivered_at"))
        .where(delivery.c.endpoint_kind == "vendor")
        .group_by(delivery.c.ticket_id)
        .subquery("deliver")
    )
    handed = (
        select(
            literal("all").label("key"),
            case(
                (
                    deliver.c.delivered_at.is_not(None),
                    seconds_between(dialect, deliver.c.delivered_at, per.c.handoff_at),
                )
            ).label("delivery"),
            case(
                (per.c.updated_at >= per.c.handoff_at, seconds_between(dialect, per.c.updated_at, per.c.handoff_at))
            ).label("first_update"),
            case(
                (per.c.resolved_at >= per.c.handoff_at, seconds_between(dialect, per.c.resolved_at, per.c.handoff_at))
            ).label("resolution"),
        )
        .select_from(per.outerjoin(deliver, deliver.c.ticket_id == per.c.id))
        .where(per.c.handoff_at.is_not(None))
        .subquery("handed")
    )
    counts = select(
        func.count().label("handoffs"),
        func.count(handed.c.delivery).label("delivered"),
        func.count(handed.c.first_update).label("vendor_updated"),
        func.count(handed.c.resolution).label("resolved"),
    )
    out: dict[str, Any] = (await _rows(session, counts))[0]
    for metric in ("delivery", "first_update", "resolution"):
        src = select(handed.c.key, handed.c[metric].label("v")).subquery()
        found = await _rows(session, percentiles(dialect, src))
        out[metric] = found[0] if found else {}
    return out


def _bucket(dialect: str, column: Any, granularity: str) -> ColumnElement[str]:
    """The day or ISO week (its Monday) a UTC timestamp falls in, as ``YYYY-MM-DD``."""
    if dialect == "postgresql":
        return func.to_char(func.date_trunc(granularity, func.timezone("UTC", column)), "YYYY-MM-DD")
    if granularity == "week":
        return func.date(column, "-6 days", "weekday 1")
    return func.date(column)


async def trends(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """Per day or week: tickets in, tickets out and SLA breaches (``sla_breached`` events: every breach of
    every clock in every tier, where the clock row keeps only the last)."""
    dialect = _dialect(session)
    g = f.granularity
    created = select(_bucket(dialect, ticket.c.created_at, g).label("bucket"), literal("in").label("series")).where(
        ticket.c.created_at >= f.since, ticket.c.created_at < f.until, *_ticket_filters(f)
    )
    resolved = select(_bucket(dialect, ticket.c.resolved_at, g).label("bucket"), literal("out").label("series")).where(
        ticket.c.resolved_at >= f.since, ticket.c.resolved_at < f.until, *_ticket_filters(f)
    )
    breached = (
        select(_bucket(dialect, audit.c.at, g).label("bucket"), literal("breaches").label("series"))
        .join(ticket, ticket.c.id == audit.c.ticket_id)
        .where(audit.c.action == "sla_breached", audit.c.at >= f.since, audit.c.at < f.until, *_ticket_filters(f))
    )
    u = union_all(created, resolved, breached).subquery("u")
    stmt = (
        select(u.c.bucket, u.c.series, func.count().label("n"))
        .group_by(u.c.bucket, u.c.series)
        .order_by(u.c.bucket, u.c.series)
    )
    return await _rows(session, stmt)


async def customers_by_tier(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """How the customer base spreads over value tiers (current tier), whether or not they wrote in."""
    stmt = select(customer.c.value_tier, func.count().label("customers")).group_by(customer.c.value_tier)
    if f.customer_id is not None:
        stmt = stmt.where(customer.c.id == f.customer_id)
    return await _rows(session, stmt.order_by(customer.c.value_tier))


async def lead_recipients(session: AsyncSession) -> Sequence[tuple[int, str, str]]:
    """Leads and admins with an email address: who receives the weekly digest."""
    agent = metadata.tables["agent"]
    stmt = (
        select(agent.c.id, agent.c.name, agent.c.email)
        .where(agent.c.role.in_(("lead", "admin")), agent.c.email != "")
        .order_by(agent.c.id)
    )
    return [(int(r["id"]), str(r["name"]), str(r["email"])) for r in await _rows(session, stmt)]
