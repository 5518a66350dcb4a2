"""Customers' figures for the tier scorer, computed by the database: one aggregate per (customer, metric key).

A year of monthly metrics for 100,000 customers is millions of rows; the database folds them into one value
per customer and key, the same way ``rules.scoring.figures_from_rows`` folds one customer's rows (a month's
value is the sum over its sources, or the one source the key names; then sum, mean, min, max or the latest
month over the window). Figures are rounded to ``PRECISION`` decimals on both paths, so floating-point
summation order never changes a score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import and_, distinct, func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.customers import CustomerMetric
from rules.review_periods import window
from rules.scoring import PRECISION
from rules.tiers import MetricKey, TierPolicy

METRIC = CustomerMetric.__table__  # type: ignore[attr-defined]
#: Customers per ``IN (...)`` when figures are asked for some customers only.
_CHUNK = 1000
#: PostgreSQL's memory for one review's groupings (a customer and metric each), instead of spilling to disk.
WORK_MEM = "128MB"
#: ``{customer_id: {key: figure}}``; a customer or key without data in the window is absent.
FiguresByCustomer = dict[int, dict[MetricKey, float]]


async def load_figures(
    session: AsyncSession,
    policy: TierPolicy,
    last_period: str,
    customer_ids: Sequence[int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FiguresByCustomer:
    """Every figure the policy needs, for every customer (or those of ``customer_ids``), over the windows
    ending with the metric period ``last_period``; ``progress`` hears the name of each group done."""
    groups: dict[tuple[int, str | None], list[MetricKey]] = defaultdict(list)
    for key in policy.metric_keys():
        groups[(key.window, key.source)].append(key)
    out: FiguresByCustomer = defaultdict(dict)
    for (months, source), keys in groups.items():
        chunks: list[Sequence[int] | None] = (
            [None]
            if customer_ids is None
            else [customer_ids[i : i + _CHUNK] for i in range(0, len(customer_ids), _CHUNK)]
        )
        for ids in chunks:
            await _group(session, out, keys, window(last_period, months), source, ids)
        if progress is not None:
            progress(", ".join(sorted({k.metric for k in keys})))
    return out


async def _group(
    session: AsyncSession,
    out: FiguresByCustomer,
    keys: list[MetricKey],
    span: tuple[str, str],
    source: str | None,
    ids: Sequence[int] | None,
) -> None:
    """The keys sharing one window and source. Sums and means fold the rows as they are (a month's sources
    add up either way; a mean divides by the months, not the rows); min, max and the latest month need the
    months' sums first, asked of the metrics that need them only (a year of rows is millions)."""
    conn = await session.connection()
    if ids is None and conn.dialect.name == "postgresql":
        await conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))  # the groups fit in memory, not on disk

    def rows_of(metrics: list[str]) -> list[Any]:
        where = [METRIC.c.metric.in_(metrics), METRIC.c.period.between(*span)]
        if source is not None:
            where.append(METRIC.c.source == source)
        if ids is not None:
            where.append(METRIC.c.customer_id.in_(list(ids)))
        return where

    plain = [k for k in keys if k.aggregate in ("sum", "mean")]
    if plain:
        metrics = sorted({k.metric for k in plain})
        folds: list[Any] = [func.sum(METRIC.c.value)]
        if any(k.aggregate == "mean" for k in plain):
            folds.append(func.count(distinct(METRIC.c.period)))
        query = (
            select(METRIC.c.customer_id, METRIC.c.metric, *folds)
            .where(*rows_of(metrics))
            .group_by(METRIC.c.customer_id, METRIC.c.metric)
        )
        by_metric = _by_metric(plain)
        for row in (await conn.execute(query)).all():
            for key in by_metric[row[1]]:
                out[row[0]][key] = _rounded(row[2] if key.aggregate == "sum" else row[2] / row[3])
    monthly = [k for k in keys if k.aggregate not in ("sum", "mean")]
    if monthly:
        await _monthly(conn, out, monthly, rows_of(sorted({k.metric for k in monthly})))


async def _monthly(conn: Any, out: FiguresByCustomer, keys: list[MetricKey], where: list[Any]) -> None:
    """Min, max and the latest month, over the months' sums."""
    months = (
        select(METRIC.c.customer_id, METRIC.c.metric, METRIC.c.period, func.sum(METRIC.c.value).label("v"))
        .where(*where)
        .group_by(METRIC.c.customer_id, METRIC.c.metric, METRIC.c.period)
        .cte("months")
    )
    by_metric = _by_metric(keys)
    if any(k.aggregate != "last" for k in keys):
        query = select(months.c.customer_id, months.c.metric, func.min(months.c.v), func.max(months.c.v)).group_by(
            months.c.customer_id, months.c.metric
        )
        for row in (await conn.execute(query)).all():
            for key in by_metric[row[1]]:
                if key.aggregate in ("min", "max"):
                    out[row[0]][key] = _rounded(row[2] if key.aggregate == "min" else row[3])
    if any(k.aggregate == "last" for k in keys):
        newest = (
            select(months.c.customer_id, months.c.metric, func.max(months.c.period).label("p"))
            .group_by(months.c.customer_id, months.c.metric)
            .subquery("newest")
        )
        query = select(months.c.customer_id, months.c.metric, months.c.v).join(
            newest,
            and_(
                months.c.customer_id == newest.c.customer_id,
                months.c.metric == newest.c.metric,
                months.c.period == newest.c.p,
            ),
        )
        for row in (await conn.execute(query)).all():
            for key in by_metric[row[1]]:
                if key.aggregate == "last":
                    out[row[0]][key] = _rounded(row[2])


def _by_metric(keys: list[MetricKey]) -> dict[str, list[MetricKey]]:
    found: dict[str, list[MetricKey]] = defaultdict(list)
    for key in keys:
        found[key.metric].append(key)
    return found


def _rounded(value: Any) -> float:
    return round(float(value), PRECISION)
