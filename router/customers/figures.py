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

from sqlalchemy import and_, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.customers import CustomerMetric
from rules.review_periods import window
from rules.scoring import PRECISION
from rules.tiers import MetricKey, TierPolicy

METRIC = CustomerMetric.__table__  # type: ignore[attr-defined]
#: Customers per ``IN (...)`` when figures are asked for some customers only.
_CHUNK = 1000
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
    """The keys sharing one window and source: one pass for sum, mean, min and max, one more for ``last``."""
    conn = await session.connection()
    metrics = sorted({k.metric for k in keys})
    where = [METRIC.c.metric.in_(metrics), METRIC.c.period.between(*span)]
    if source is not None:
        where.append(METRIC.c.source == source)
    if ids is not None:
        where.append(METRIC.c.customer_id.in_(list(ids)))
    months = (
        select(METRIC.c.customer_id, METRIC.c.metric, METRIC.c.period, func.sum(METRIC.c.value).label("v"))
        .where(*where)
        .group_by(METRIC.c.customer_id, METRIC.c.metric, METRIC.c.period)
        .cte("months")
    )
    wanted: dict[str, list[MetricKey]] = defaultdict(list)
    for key in keys:
        wanted[key.metric].append(key)
    folds = [k for k in keys if k.aggregate != "last"]
    if folds:
        query = select(
            months.c.customer_id,
            months.c.metric,
            func.sum(months.c.v),
            func.avg(months.c.v),
            func.min(months.c.v),
            func.max(months.c.v),
        ).group_by(months.c.customer_id, months.c.metric)
        column = {"sum": 2, "mean": 3, "min": 4, "max": 5}
        for row in await conn.execute(query):
            for key in wanted[row[1]]:
                if key.aggregate != "last" and row[column[key.aggregate]] is not None:
                    out[row[0]][key] = _rounded(row[column[key.aggregate]])
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
        latest: Any = await conn.execute(query)
        for customer_id, metric, value in latest:
            for key in wanted[metric]:
                if key.aggregate == "last":
                    out[customer_id][key] = _rounded(value)


def _rounded(value: Any) -> float:
    return round(float(value), PRECISION)
