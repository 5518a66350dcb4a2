"""Read-only aggregate queries behind the SLA report (SQLAlchemy Core; the database does the counting).

They read ``report_ticket``, one narrow row of facts per ticket kept current by ``router.reports.facts``,
not the millions of audit events and clocks those facts come from. Ticket figures are one hash aggregate
of the cohort into fine cells (support tier x customer tier x priority), rolled up per breakdown; the
percentiles find their values through a histogram (``router.reports.percentiles``) instead of sorting
every duration. Durations are whole milliseconds, so both databases give the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    String,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
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
from router.models.agents import LEAD_ROLES
from router.reports import facts as report_facts
from router.reports import percentiles, rollups
from router.reports.rollups import Coverage
from rules.vocabulary import PRIORITIES, SUPPORT_TIERS

audit = metadata.tables["audit_event"]
customer = metadata.tables["customer"]
facts = report_facts.facts

#: The breakdowns every ticket figure is shown by (``all`` is the total).
DIMENSIONS = ("all", "support_tier", "customer_tier", "priority")
#: Upper bounds (seconds) of the backlog ageing buckets; the last bucket is open-ended.
AGE_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("< 1 day", 86_400.0),
    ("1-3 days", 3 * 86_400.0),
    ("3-7 days", 7 * 86_400.0),
    ("7-30 days", 30 * 86_400.0),
    ("> 30 days", None),
)
PERCENTILES = (0.5, 0.9)
_ONE_DAY = timedelta(days=1)
_ONE_WEEK = timedelta(days=7)


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
    if not returns:
        return []
    keys = list(result.keys())  # once, not per row: a row's own mapping costs more than the query at 80k rows
    return [dict(zip(keys, row, strict=True)) for row in result.all()]


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


async def _all(session: AsyncSession, stmt: Executable) -> Sequence[Any]:
    return (await (await session.connection()).execute(stmt)).all()


async def _in_index_order(session: AsyncSession, stmt: Executable) -> Sequence[Any]:
    """Run a GROUP BY that a covering index already orders, as a stream over that index. PostgreSQL's
    planner rates hashing a million rows (in parallel) as cheaper, but on the benchmark it is 4x slower:
    the index-only scan feeds a GroupAggregate without hashing or sorting anything."""
    connection = await session.connection()
    if _dialect(session) != "postgresql":
        return (await connection.execute(stmt)).all()
    await _rows(session, text("SET LOCAL enable_hashagg = off"), returns=False)
    await _rows(session, text("SET LOCAL max_parallel_workers_per_gather = 0"), returns=False)
    try:
        return (await connection.execute(stmt)).all()
    finally:
        await _rows(session, text("SET LOCAL enable_hashagg = on"), returns=False)
        await _rows(session, text("RESET max_parallel_workers_per_gather"), returns=False)


def percentiles_of(dialect: str, src: Subquery) -> Select[Any]:
    """``(key, p50, p90)`` of ``src.v`` per ``src.key`` (NULL values ignored), ``percentile_cont`` semantics.
    For small sets (vendor handoffs); the big ones go through ``duration_percentiles``."""
    rows = select(src.c.key, src.c.v).where(src.c.v.is_not(None))
    if dialect == "postgresql":
        r = rows.subquery("r")
        fractions = postgresql.array([literal(p, Float) for p in PERCENTILES])
        ps = type_coerce(func.percentile_cont(fractions).within_group(r.c.v), postgresql.ARRAY(Float))
        agg = select(r.c.key, ps.label("ps")).group_by(r.c.key).subquery("agg")
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


def key_name(dim: str, key: Any) -> str:
    """A breakdown key as the report shows it: priorities by name, ``none`` for tickets never routed."""
    if key is None:
        return "none"
    if dim == "priority":
        return PRIORITIES[int(key)]
    return str(key)


def _filters(f: Filters, table: Any = None) -> list[ColumnElement[bool]]:
    """The customer and agent filters on ``report_ticket`` (or another table with a ticket id column)."""
    table = facts if table is None else table
    id_column = table.c.ticket_id if "ticket_id" in table.c else table.c.id
    conds: list[ColumnElement[bool]] = []
    if f.customer_id is not None:
        conds.append(table.c.customer_id == f.customer_id)
    if f.agent_id is not None:
        # Tickets the agent worked on (any event they made), not only those they hold now: an escalation
        # hands the ticket on and clears the assignee.
        touched = select(audit.c.ticket_id).where(audit.c.actor == f"agent:{f.agent_id}")
        conds.append(id_column.in_(touched))
    return conds


def in_cohort(f: Filters) -> list[ColumnElement[bool]]:
    """Tickets created in the window (after the customer/agent filters): most figures describe them."""
    return [facts.c.created_at >= f.since, facts.c.created_at < f.until, *_filters(f)]


def _keys(cell: Any) -> list[ColumnElement[Any]]:
    """``support_tier``, ``customer_tier`` and ``priority`` back out of a ``report_ticket.cell``."""
    tier_plus_one = cell // 100
    return [
        case((tier_plus_one == 0, null()), else_=tier_plus_one - 1).label("support_tier"),
        ((cell // 10) % 10).label("customer_tier"),
        (cell % 10).label("priority"),
    ]


def _decoded(cells: CTE, names: Sequence[str]) -> Subquery:
    return select(*_keys(cells.c.cell), *(cells.c[n] for n in names)).subquery("decoded")


def _add(into: dict[int, dict[str, int]], rows: Sequence[Any]) -> None:
    for row in rows:
        sums = into.setdefault(int(row[0]), {})
        for name, value in zip(row._fields[1:], row[1:], strict=True):
            sums[name] = sums.get(name, 0) + int(value or 0)


async def cell_counts(session: AsyncSession, f: Filters, cover: Coverage) -> dict[int, dict[str, int]]:
    """Per cell (support tier x customer tier x priority): the additive figures of the cohort
    (``rollups.cohort_sums``): the roll-ups' rows for the covered days plus the facts of the rest."""
    connection = await session.connection()
    sums = rollups.cohort_sums(_dialect(session))
    cells: dict[int, dict[str, int]] = {}
    gaps = cover.day_gaps()
    if gaps:
        from_facts = (
            select(facts.c.cell, *(value.label(name) for name, value in sums.items()))
            .where(rollups.within(facts.c.created_at, gaps), *_filters(f))
            .group_by(facts.c.cell)
        )
        _add(cells, (await connection.execute(from_facts)).all())
    if cover.days:
        day = rollups.day_table
        from_days = (
            select(day.c.cell, *(func.sum(day.c[name]).label(name) for name in sums))
            .where(rollups.within(day.c.day, rollups.runs(cover.days, _ONE_DAY)))
            .group_by(day.c.cell)
        )
        _add(cells, (await connection.execute(from_days)).all())
    return cells


def _cell_keys(cell: int) -> list[tuple[str, Any]]:
    """The four (dimension, key) rows a cell adds to, keys as ``key_name`` reads them."""
    tier_plus_one = cell // 100
    return [
        ("all", "all"),
        ("support_tier", None if tier_plus_one == 0 else tier_plus_one - 1),
        ("customer_tier", (cell // 10) % 10),
        ("priority", cell % 10),
    ]


def roll_up(cells: dict[int, dict[str, int]]) -> list[dict[str, Any]]:
    """Per-cell sums added up into one row per (dimension, key)."""
    rows: dict[tuple[str, Any], dict[str, Any]] = {}
    for cell, sums in cells.items():
        for dim, key in _cell_keys(cell):
            row = rows.setdefault((dim, key), {"dim": dim, "key": key})
            for name, value in sums.items():
                row[name] = row.get(name, 0) + value
    return list(rows.values())


def breakdown_counts(cells: dict[int, dict[str, int]], as_of: datetime) -> list[dict[str, Any]]:
    """Per (dimension, key): the cohort's counts, SLA outcomes, breaches and tier sums; ``open_ms`` closes
    the open stays at ``as_of``."""
    rows = roll_up(cells)
    as_of_ms = rollups.as_epoch_ms(as_of)
    for row in rows:
        row["open_ms"] = as_of_ms * row.pop("open_in_tier", 0) - row.pop("open_created_ms", 0)
    return rows


async def distinct_customers(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """Per (dimension, key): how many different customers the cohort's tickets came from."""
    fine = (
        select(facts.c.cell, facts.c.customer_id)
        .where(*in_cohort(f), facts.c.customer_id.is_not(None))
        .group_by(facts.c.cell, facts.c.customer_id)
        .cte("pairs")
    )
    pairs = _decoded(fine, ["customer_id"])
    parts = []
    for dim in DIMENSIONS:
        key = cast(literal("all"), String) if dim == "all" else cast(pairs.c[dim], String)
        stmt = select(literal(dim).label("dim"), key.label("key"), func.count(distinct(pairs.c.customer_id)).label("n"))
        parts.append(stmt if dim == "all" else stmt.group_by(pairs.c[dim]))
    return await _rows(session, union_all(*parts))


async def duration_percentiles(
    session: AsyncSession, f: Filters, cover: Coverage, cells: Collection[int]
) -> dict[tuple[str, str, str], dict[float, float]]:
    """Median and p90 of every duration (``report_facts.DURATIONS``, in ms) per (metric, dimension, key),
    with ``percentile_cont`` semantics (see ``router.reports.percentiles``). ``cells`` are those the cohort
    has tickets in."""
    metrics = report_facts.DURATIONS
    histogram: dict[tuple[str, str, str, int], int] = defaultdict(int)
    gaps = cover.week_gaps()
    if gaps:
        # Counted per (metric, cell, bucket), and summed into each cell's four groups here.
        cohort = [rollups.within(facts.c.created_at, gaps), *_filters(f)]
        fine = union_all(
            *(
                select(literal(m).label("metric"), facts.c.cell, facts.c[f"{m}_b"].label("b"), func.count().label("n"))
                .where(*cohort, facts.c[f"{m}_b"].is_not(None))
                .group_by(facts.c.cell, facts.c[f"{m}_b"])
                for m in metrics
            )
        )
        # The whole window in the facts: a stream over the covering indexes. A few edge weeks: the planner's
        # own choice (their rows by the creation index).
        run = _in_index_order(session, fine) if not cover.weeks else _all(session, fine)
        groups: dict[int, list[tuple[str, str]]] = {}
        for metric, cell, b, n in await run:
            for dim, key in groups.get(cell) or groups.setdefault(cell, cell_groups(cell)):
                histogram[(metric, dim, key, b)] += n
    if cover.weeks:
        h = rollups.histogram
        weekly = (
            select(h.c.metric, h.c.grp, h.c.b, func.sum(h.c.n))
            .where(rollups.within(h.c.week, rollups.runs(cover.weeks, _ONE_WEEK)))
            .group_by(h.c.metric, h.c.grp, h.c.b)
        )
        for metric, code, b, n in await _all(session, weekly):
            histogram[(metrics[metric], *rollups.group_of(code), b)] += int(n)
    positions = percentiles.plan(((*at, n) for at, n in histogram.items()), PERCENTILES)
    # The wanted values, a few consecutive ranks per (group, bucket): each is read from the metric's index
    # (cell, bucket, value) — only that bucket's entries of the group's cells, already in value order.
    ranks: dict[tuple[percentiles.Group, int], list[int]] = {}
    for w in percentiles.wanted(positions):
        ranks.setdefault((w.group, w.bucket), []).append(w.rank)
    present = set(cells)
    parts = []
    for ((metric, dim, group_key), b), asked in sorted(ranks.items()):
        first, last = min(asked), max(asked)
        v = facts.c[f"{metric}_ms"]
        inside = (
            select(v.label("v"))
            .where(
                facts.c.cell.in_([c for c in _cells(dim, group_key) if c in present]),
                facts.c[f"{metric}_b"] == b,
                *in_cohort(f),
            )
            .order_by(v)
            .offset(first - 1)
            .limit(last - first + 1)
            .subquery()
        )
        parts.append(
            select(
                literal(metric).label("metric"),
                literal(dim).label("dim"),
                literal(group_key).label("key"),
                literal(b).label("b"),
                (func.row_number().over(order_by=inside.c.v) + (first - 1)).label("rn"),
                inside.c.v,
            )
        )
    if not parts:
        return {}
    found = await _rows(session, union_all(*parts))
    values = {
        percentiles.Wanted((r["metric"], r["dim"], r["key"]), int(r["b"]), int(r["rn"])): float(r["v"]) for r in found
    }
    return percentiles.finish(positions, values)


#: Every value ``report_ticket.cell`` can take: support tier none or 0-4 (stored as 0 or tier + 1), customer
#: tier 0-9, priority 0-3.
_ALL_CELLS = [
    st * 100 + ct * 10 + pr for st in range(len(SUPPORT_TIERS) + 1) for ct in range(10) for pr in range(len(PRIORITIES))
]


def cell_groups(cell: int) -> list[tuple[str, str]]:
    """The four breakdown groups (dimension, key) one cell belongs to, keys as the report shows them."""
    return [(dim, key_name(dim, key)) for dim, key in _cell_keys(cell)]


def _cells(dim: str, key: str) -> list[int]:
    """The cells of one breakdown group, as a list the cell-led indexes can be probed with."""
    if dim == "all":
        return _ALL_CELLS
    if dim == "support_tier":
        st = 0 if key == "none" else int(key) + 1
        return [c for c in _ALL_CELLS if c // 100 == st]
    if dim == "customer_tier":
        return [c for c in _ALL_CELLS if (c // 10) % 10 == int(key)]
    return [c for c in _ALL_CELLS if c % 10 == PRIORITIES.index(key)]


async def tickets_out(session: AsyncSession, f: Filters, cover: Coverage) -> list[dict[str, Any]]:
    """Tickets resolved in the window (whenever they arrived), per dimension and key: the roll-ups' counts
    for the covered days plus the facts resolved in the rest."""
    cells: dict[int, dict[str, int]] = {}
    gaps = cover.day_gaps()
    if gaps:
        resolved = (
            select(facts.c.cell, func.count().label("n"))
            .where(rollups.within(facts.c.resolved_at, gaps), *_filters(f))
            .group_by(facts.c.cell)
        )
        _add(cells, await _all(session, resolved))
    if cover.days:
        day = rollups.day_table
        resolved_days = (
            select(day.c.cell, func.sum(day.c.tickets_out).label("n"))
            .where(rollups.within(day.c.day, rollups.runs(cover.days, _ONE_DAY)))
            .group_by(day.c.cell)
        )
        _add(cells, await _all(session, resolved_days))
    return roll_up(cells)


async def escalation_paths(session: AsyncSession, f: Filters, cover: Coverage) -> list[dict[str, Any]]:
    """Escalations and de-escalations of cohort tickets by (from tier, to tier, cause)."""
    found: list[Sequence[Any]] = []
    gaps = cover.day_gaps()
    if gaps:
        cause = rollups.escalation_cause()
        from_events = (
            select(audit.c.action, audit.c.from_tier, audit.c.to_tier, cause.label("cause"), func.count())
            .join(facts, facts.c.ticket_id == audit.c.ticket_id)
            .where(audit.c.action.in_(rollups.PATH_ACTIONS), rollups.within(facts.c.created_at, gaps), *_filters(f))
            .group_by(audit.c.action, audit.c.from_tier, audit.c.to_tier, cause)
        )
        found += await _all(session, from_events)
    if cover.days:
        p = rollups.path_table
        from_days = (
            select(p.c.action, p.c.from_tier, p.c.to_tier, p.c.cause, func.sum(p.c.n))
            .where(rollups.within(p.c.day, rollups.runs(cover.days, _ONE_DAY)))
            .group_by(p.c.action, p.c.from_tier, p.c.to_tier, p.c.cause)
        )
        found += await _all(session, from_days)
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
                *_filters(f),
                facts.c.escalation_count > 0,
                facts.c.routed_by.is_not(None),
            )
            .group_by(facts.c.routed_by)
        )
        found += await _all(session, from_facts)
    if cover.days:
        r = rollups.rule_table
        from_days = (
            select(r.c.rule, func.sum(r.c.tickets), func.sum(r.c.escalations))
            .where(rollups.within(r.c.day, rollups.runs(cover.days, _ONE_DAY)))
            .group_by(r.c.rule)
        )
        found += await _all(session, from_days)
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
    return await _rows(session, stmt)


async def backlog(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """Tickets open now that arrived before ``until``, by age at ``as_of`` (bucket) and support tier."""
    dialect = _dialect(session)
    age = seconds_between(dialect, literal(f.as_of, type_=facts.c.created_at.type), facts.c.created_at)
    bucket = case(
        *((age < upper, literal(label)) for label, upper in AGE_BUCKETS if upper is not None),
        else_=literal(AGE_BUCKETS[-1][0]),
    ).label("bucket")
    stmt = (
        select(bucket, facts.c.support_tier, func.count().label("n"))
        .where(facts.c.is_open, facts.c.created_at < f.until, *_filters(f))
        .group_by(bucket, facts.c.support_tier)
    )
    return await _rows(session, stmt)


async def vendor_turnaround(session: AsyncSession, f: Filters) -> dict[str, Any]:
    """Tier-4 handoffs of cohort tickets: time to deliver the webhook, to the vendor's first update, and to
    resolution, each from the handoff (the first ``vendor_handoff`` event)."""
    dialect = _dialect(session)
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
        out: dict[str, Any] = (await _rows(session, select(*counts, *ps.values())))[0]
        for m in metrics:
            values = out.pop(m)
            out[m] = (
                {} if values is None else {f"p{round(p * 100)}": v for p, v in zip(PERCENTILES, values, strict=True)}
            )
        return out
    out = (await _rows(session, select(*counts)))[0]
    for metric in metrics:
        src = select(handed.c.key, handed.c[metric].label("v")).subquery()
        found = await _rows(session, percentiles_of(dialect, src))
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
    dialect = _dialect(session)
    g = f.granularity
    one = literal(1).label("n")
    parts: list[Any] = []
    gaps = cover.day_gaps()
    if gaps:
        parts += [
            select(_bucket(dialect, facts.c.created_at, g).label("bucket"), literal("in").label("series"), one).where(
                rollups.within(facts.c.created_at, gaps), *_filters(f)
            ),
            select(_bucket(dialect, facts.c.resolved_at, g).label("bucket"), literal("out").label("series"), one).where(
                rollups.within(facts.c.resolved_at, gaps), *_filters(f)
            ),
        ]
    if cover.days:
        day = rollups.day_table
        covered = rollups.within(day.c.day, rollups.runs(cover.days, _ONE_DAY))
        bucket = _day_bucket(dialect, day.c.day, g).label("bucket")
        parts += [
            select(bucket, literal("in").label("series"), day.c.tickets_in.label("n")).where(covered),
            select(bucket, literal("out").label("series"), day.c.tickets_out.label("n")).where(covered),
        ]
    breached = select(_bucket(dialect, audit.c.at, g).label("bucket"), literal("breaches").label("series"), one).where(
        audit.c.action == "sla_breached", audit.c.at >= f.since, audit.c.at < f.until
    )
    if f.customer_id is not None or f.agent_id is not None:
        breached = breached.join(facts, facts.c.ticket_id == audit.c.ticket_id).where(*_filters(f))
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
        .where(agent.c.role.in_(LEAD_ROLES), agent.c.email != "")
        .order_by(agent.c.id)
    )
    return [(int(r["id"]), str(r["name"]), str(r["email"])) for r in await _rows(session, stmt)]
