"""Ticket figures by cell (support tier x customer tier x priority), rolled up per breakdown.

One hash aggregate of the cohort into fine cells, read from the day roll-ups for clean whole days and from
the facts for the rest; percentiles through a histogram (``router.reports.percentiles``) instead of a sort.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    String,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import CTE, Subquery
from sqlmodel.ext.asyncio.session import AsyncSession

from router.reports import facts as report_facts
from router.reports import percentiles, rollups
from router.reports.rollups import Coverage
from router.reports.sql import (
    ONE_DAY,
    ONE_WEEK,
    PERCENTILES,
    Filters,
    dialect_of,
    facts,
    fetch_all,
    fetch_rows,
    in_cohort,
    in_index_order,
    scoped,
)
from rules.vocabulary import PRIORITIES, SUPPORT_TIERS

#: The breakdowns every ticket figure is shown by (``all`` is the total).
DIMENSIONS = ("all", "support_tier", "customer_tier", "priority")


def key_name(dim: str, key: Any) -> str:
    """A breakdown key as the report shows it: priorities by name, ``none`` for tickets never routed."""
    if key is None:
        return "none"
    if dim == "priority":
        return PRIORITIES[int(key)]
    return str(key)


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
    sums = rollups.cohort_sums(dialect_of(session))
    cells: dict[int, dict[str, int]] = {}
    gaps = cover.day_gaps()
    if gaps:
        from_facts = (
            select(facts.c.cell, *(value.label(name) for name, value in sums.items()))
            .where(rollups.within(facts.c.created_at, gaps), *scoped(f))
            .group_by(facts.c.cell)
        )
        _add(cells, (await connection.execute(from_facts)).all())
    if cover.days:
        day = rollups.day_table
        from_days = (
            select(day.c.cell, *(func.sum(day.c[name]).label(name) for name in sums))
            .where(rollups.within(day.c.day, rollups.runs(cover.days, ONE_DAY)))
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
    return await fetch_rows(session, union_all(*parts))


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
        cohort = [rollups.within(facts.c.created_at, gaps), *scoped(f)]
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
        run = in_index_order(session, fine) if not cover.weeks else fetch_all(session, fine)
        groups: dict[int, list[tuple[str, str]]] = {}
        for metric, cell, b, n in await run:
            for dim, key in groups.get(cell) or groups.setdefault(cell, cell_groups(cell)):
                histogram[(metric, dim, key, b)] += n
    if cover.weeks:
        h = rollups.histogram
        weekly = (
            select(h.c.metric, h.c.grp, h.c.b, func.sum(h.c.n))
            .where(rollups.within(h.c.week, rollups.runs(cover.weeks, ONE_WEEK)))
            .group_by(h.c.metric, h.c.grp, h.c.b)
        )
        for metric, code, b, n in await fetch_all(session, weekly):
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
    found = await fetch_rows(session, union_all(*parts))
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
            .where(rollups.within(facts.c.resolved_at, gaps), *scoped(f))
            .group_by(facts.c.cell)
        )
        _add(cells, await fetch_all(session, resolved))
    if cover.days:
        day = rollups.day_table
        resolved_days = (
            select(day.c.cell, func.sum(day.c.tickets_out).label("n"))
            .where(rollups.within(day.c.day, rollups.runs(cover.days, ONE_DAY)))
            .group_by(day.c.cell)
        )
        _add(cells, await fetch_all(session, resolved_days))
    return roll_up(cells)
