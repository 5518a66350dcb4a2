"""Customers' figures for the tier scorer, computed by the database: one value per (customer, metric key).

A year of monthly metrics for 100,000 customers is millions of rows; the database folds them into one row
per customer and metric, the same way ``rules.scoring.figures_from_rows`` folds one customer's rows (a month's
value is the sum over its sources, or the one source the key names; then sum, mean, min, max or the latest
month over the window). Figures are rounded to ``PRECISION`` decimals on both paths, so floating-point
summation order never changes a score.

The keys sharing a window are read in one pass over their rows, grouped by customer and metric only: each
key is an aggregate with a ``FILTER`` (its source; for min, max and the latest month, one sum per month of
the window, so the months need no grouping, sorting or join of their own — a year of rows grouped per month
is millions of groups and spills to disk, where a group per customer and metric fits in memory).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import distinct, func, select, text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.customers import CustomerMetric
from rules.review_periods import add_months, window
from rules.scoring import PRECISION, aggregate
from rules.tiers import MetricKey, TierPolicy

METRIC = CustomerMetric.__table__  # type: ignore[attr-defined]
#: Customers per ``IN (...)`` when figures are asked for some customers only.
_CHUNK = 1000
#: PostgreSQL's memory for one review's groupings (a customer and metric each), instead of spilling to disk.
WORK_MEM = "128MB"
#: ``{customer_id: {key: figure}}``; a customer or key without data in the window is absent.
FiguresByCustomer = dict[int, dict[MetricKey, float]]
#: What one key's columns are read into: a figure, or None (no data).
_Fold = Callable[[Sequence[Any]], float | None]


async def load_figures(
    session: AsyncSession,
    policy: TierPolicy,
    last_period: str,
    customer_ids: Sequence[int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FiguresByCustomer:
    """Every figure the policy needs, for every customer (or those of ``customer_ids``), over the windows
    ending with the metric period ``last_period``; ``progress`` hears the metrics of each window done."""
    by_window: dict[int, list[MetricKey]] = defaultdict(list)
    for key in policy.metric_keys():
        by_window[key.window].append(key)
    out: FiguresByCustomer = defaultdict(dict)
    for months, keys in by_window.items():
        chunks: list[Sequence[int] | None] = (
            [None]
            if customer_ids is None
            else [customer_ids[i : i + _CHUNK] for i in range(0, len(customer_ids), _CHUNK)]
        )
        for ids in chunks:
            await _window(session, out, keys, last_period, months, ids)
        if progress is not None:
            progress(", ".join(sorted({k.metric for k in keys})))
    return out


async def _window(
    session: AsyncSession,
    out: FiguresByCustomer,
    keys: list[MetricKey],
    last_period: str,
    months: int,
    ids: Sequence[int] | None,
) -> None:
    """The keys sharing one window, in one pass over its rows: a row per customer and metric, a column (or a
    month's column each) per kind of fold, read for the keys of that row's metric."""
    conn = await session.connection()
    if ids is None and conn.dialect.name == "postgresql":
        await conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))  # the groups fit in memory, not on disk
    first, last = window(last_period, months)
    periods = [add_months(first, n) for n in range(months)]  # oldest first
    columns: list[Any] = [METRIC.c.customer_id, METRIC.c.metric]
    folds: dict[tuple[str, str | None], _Fold] = {}
    for key in keys:
        shape = (key.aggregate, key.source)
        if shape not in folds:
            folds[shape] = _fold(key, columns, periods)
    where = [METRIC.c.metric.in_(sorted({k.metric for k in keys})), METRIC.c.period.between(first, last)]
    if ids is not None:
        where.append(METRIC.c.customer_id.in_(list(ids)))
    query = select(*columns).where(*where).group_by(METRIC.c.customer_id, METRIC.c.metric)
    by_metric: dict[str, list[tuple[MetricKey, _Fold]]] = defaultdict(list)
    for key in keys:
        by_metric[key.metric].append((key, folds[(key.aggregate, key.source)]))
    for row in await conn.execute(query):
        found = out[row[0]]
        for key, fold in by_metric[row[1]]:
            figure = fold(row)
            if figure is not None:
                found[key] = round(float(figure), PRECISION)
    for cid in [cid for cid, found in out.items() if not found]:
        del out[cid]  # a customer whose rows all came from other sources than its keys': no figure


def _fold(key: MetricKey, columns: list[Any], periods: list[str]) -> _Fold:
    """The columns one kind of key (aggregate and source) needs, appended to ``columns``, and how a row's
    values in them make the figure."""

    def folded(expression: Any, *conditions: ColumnElement[bool]) -> Any:
        if key.source is not None:
            conditions = (*conditions, METRIC.c.source == key.source)
        return expression.filter(*conditions) if conditions else expression

    def column(expression: Any, *conditions: ColumnElement[bool]) -> int:
        columns.append(folded(expression, *conditions))
        return len(columns) - 1

    if key.aggregate == "sum":
        at = column(func.sum(METRIC.c.value))
        return lambda row: row[at]
    if key.aggregate == "mean":
        total, count = column(func.sum(METRIC.c.value)), column(func.count(distinct(METRIC.c.period)))
        return lambda row: None if row[total] is None else row[total] / row[count]
    if key.aggregate == "last":  # the newest month's sum: the first of the months' sums, newest first
        columns.append(func.coalesce(*[folded(func.sum(METRIC.c.value), METRIC.c.period == p) for p in periods[::-1]]))
        newest = len(columns) - 1
        return lambda row: row[newest]
    month = [column(func.sum(METRIC.c.value), METRIC.c.period == p) for p in periods]
    kind = key.aggregate
    return lambda row: aggregate(kind, [row[at] for at in month if row[at] is not None])
