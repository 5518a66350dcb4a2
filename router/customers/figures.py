"""Customers' figures for the tier scorer, computed by the database: one value per (customer, metric key).

A year of monthly metrics for 100,000 customers is millions of rows; the database folds them into one row
per customer, the same way ``rules.scoring.figures_from_rows`` folds one customer's rows (a month's value is
the sum over its sources, or the one source the key names; then sum, mean, min, max or the latest month over
the window). Figures are rounded to ``PRECISION`` decimals on both paths, so floating-point summation order
never changes a score.

Every key is read in one pass over the rows, grouped by customer only: each key is an aggregate with a
``FILTER`` (its metric, window and source). The latest month is nearly always the window's last: that
month's sum is read, and only the customers without it are read again with every month's sum, the newest
non-empty one taken (``coalesce``); mean, min and max get the months' sums and fold them as the scorer does.
Grouping by customer and month (or metric) instead makes millions of groups, and the months' sums a join of
their own (three times slower); a sum per month for every latest key costs twice the single pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.customers import CustomerMetric
from rules.review_periods import add_months, window
from rules.scoring import PRECISION, aggregate
from rules.tiers import MetricKey, TierPolicy

METRIC = CustomerMetric.__table__  # type: ignore[attr-defined]
#: Customers per ``IN (...)`` when figures are asked for some customers only.
_CHUNK = 1000
#: PostgreSQL's memory for one review's grouping (a customer each), instead of spilling to disk.
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
    ending with the metric period ``last_period``; ``progress`` hears the metrics once read."""
    keys = policy.metric_keys()
    out: FiguresByCustomer = {}
    if not keys:
        return out
    conn = await session.connection()
    if customer_ids is None and conn.dialect.name == "postgresql":
        await conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))  # the groups fit in memory, not on disk
    # The latest month of a window is nearly always its last one: read that month only, and the window's
    # months for the customers without it.
    again = await _read(conn, out, keys, last_period, customer_ids, newest_only=True)
    if again:
        latest = [k for k in keys if k.aggregate == "last"]
        await _read(conn, out, latest, last_period, sorted(again), newest_only=False)
    if progress is not None:
        progress(", ".join(sorted({k.metric for k in keys})))
    return out


async def _read(
    conn: Any,
    out: FiguresByCustomer,
    keys: Sequence[MetricKey],
    last_period: str,
    customer_ids: Sequence[int] | None,
    *,
    newest_only: bool,
) -> set[int]:
    """The figures of ``keys`` into ``out``, one row per customer; with ``newest_only``, a latest month's key
    reads the window's last month only, and the customers without data in it are returned (to read again)."""
    columns: list[Any] = [METRIC.c.customer_id]
    direct: list[tuple[MetricKey, int]] = []  # sum and the latest month: one column each
    folded: list[tuple[MetricKey, list[int]]] = []  # mean, min and max: the months' sums, oldest first
    newest: list[int] = []  # with ``newest_only``: the latest month's columns, which may be empty
    for key in keys:
        first, last = window(last_period, key.window)
        months = [add_months(first, n) for n in range(key.window)]

        def of(*conditions: ColumnElement[bool], key: MetricKey = key) -> Any:
            where = [METRIC.c.metric == key.metric, *conditions]
            if key.source is not None:
                where.append(METRIC.c.source == key.source)
            return func.sum(METRIC.c.value).filter(*where)

        if key.aggregate == "sum":
            columns.append(of(METRIC.c.period.between(first, last)))
        elif key.aggregate == "last" and newest_only:
            columns.append(of(METRIC.c.period == last))
            newest.append(len(columns) - 1)
        elif key.aggregate == "last":
            columns.append(func.coalesce(*[of(METRIC.c.period == month) for month in reversed(months)]))
        else:
            columns.extend(of(METRIC.c.period == month) for month in months)
            folded.append((key, list(range(len(columns) - len(months), len(columns)))))
            continue
        direct.append((key, len(columns) - 1))
    spans = [window(last_period, k.window) for k in keys]
    where = [
        METRIC.c.metric.in_(sorted({k.metric for k in keys})),
        METRIC.c.period.between(min(s[0] for s in spans), last_period),
    ]
    chunks: list[Sequence[int] | None] = (
        [None] if customer_ids is None else [customer_ids[i : i + _CHUNK] for i in range(0, len(customer_ids), _CHUNK)]
    )
    again: set[int] = set()
    for ids in chunks:
        query = select(*columns).where(*where).group_by(METRIC.c.customer_id)
        if ids is not None:
            query = query.where(METRIC.c.customer_id.in_(list(ids)))
        for row in await conn.execute(query):
            found = out.setdefault(row[0], {})
            found.update((key, round(float(row[at]), PRECISION)) for key, at in direct if row[at] is not None)
            for key, ats in folded:
                figure = aggregate(key.aggregate, [row[at] for at in ats if row[at] is not None])
                if figure is not None:
                    found[key] = round(float(figure), PRECISION)
            if any(row[at] is None for at in newest):
                again.add(row[0])
            if not found:
                del out[row[0]]
    return again
