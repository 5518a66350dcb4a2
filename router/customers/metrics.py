"""A customer's figures per month (``customer_metric``): recorded idempotently, read back latest first.

A CRM or billing system pushes figures (``POST /api/v1/customers/{id}/metrics``), a customers file carries
them (``tierroute customers import``); both come here. The same figure sent again changes nothing (not even
``recorded_at``), a new value for the same customer, period, metric and source replaces the old one, and
every change is in the administration log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import admin_log
from router.customers.values import checked_name, checked_period, checked_source, checked_value
from router.errors import Invalid
from router.models import metadata
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.customers import Customer, CustomerMetric

METRIC = metadata.tables["customer_metric"]
#: Customers per look-up of the rows already there: well under both databases' bound-parameter limits.
_CHUNK = 500


@dataclass(frozen=True)
class Figure:
    """One figure to record: ``value`` of ``metric`` for the month ``period``, as ``source`` reports it."""

    period: str
    metric: str
    value: float
    source: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.period, self.metric, self.source)

    def checked(self, field: str = "metrics") -> Figure:
        """The figure if every part of it may be stored; ``Invalid`` naming the part otherwise."""
        checked_period(self.period, f"{field}.period")
        checked_name(self.metric, f"{field}.metric")
        checked_source(self.source, f"{field}.source")
        return Figure(self.period, self.metric, checked_value(self.value, f"{field}.value"), self.source)


@dataclass(frozen=True)
class Recorded:
    """How a batch of figures landed: new rows, rows whose value changed, figures already there as sent."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: Recorded) -> Recorded:
        return Recorded(self.created + other.created, self.updated + other.updated, self.unchanged + other.unchanged)


async def record_metrics(
    session: AsyncSession, by: Agent | None, customer: Customer, figures: Sequence[Figure]
) -> Recorded:
    """Record a batch of one customer's figures; a figure given twice in the batch is ``Invalid`` (which of
    the two would count?). Audited when anything changed."""
    assert customer.id is not None
    checked = [f.checked(f"metrics.{i}") for i, f in enumerate(figures)]
    first: dict[tuple[str, str, str], int] = {}
    for i, figure in enumerate(checked):
        if figure.key in first:
            what = f"{figure.metric} for {figure.period} from {figure.source}"
            raise Invalid(f"metrics.{i}: {what} is also metrics.{first[figure.key]}", field=f"metrics.{i}")
        first[figure.key] = i
    recorded = (await upsert(session, [(customer.id, f) for f in checked])).get(customer.id, Recorded())
    if recorded.created or recorded.updated:
        audit(session, by, customer, checked, recorded)
    return recorded


def audit(
    session: AsyncSession, by: Agent | None, customer: Customer, figures: Sequence[Figure], done: Recorded
) -> None:
    """One administration event for a batch of a customer's figures (what was sent, not every value)."""
    admin_log.record(
        session,
        by,
        "customer.metrics_recorded",
        f"customer:{customer.id}",
        sources=sorted({f.source for f in figures}),
        metrics=sorted({f.metric for f in figures}),
        periods=sorted({f.period for f in figures}),
        created=done.created,
        updated=done.updated,
    )


async def upsert(session: AsyncSession, figures: Sequence[tuple[int, Figure]]) -> dict[int, Recorded]:
    """Write checked figures of any number of customers (each key once): new ones inserted, changed values
    replaced, the rest left alone; what became of each customer's. One look-up per ``_CHUNK`` customers and
    one batched statement."""
    now = utcnow()
    known = await _values(session, figures)
    rows = []
    recorded: dict[int, Recorded] = {}
    for customer_id, figure in sorted(figures, key=lambda cf: (cf[0], cf[1].key)):  # one lock order for all
        before = known.get((customer_id, *figure.key))
        if before == figure.value:
            outcome = Recorded(unchanged=1)
        else:
            outcome = Recorded(created=1) if before is None else Recorded(updated=1)
        recorded[customer_id] = recorded.get(customer_id, Recorded()) + outcome
        if before == figure.value:
            continue
        rows.append(
            {
                "customer_id": customer_id,
                "period": figure.period,
                "metric": figure.metric,
                "value": figure.value,
                "source": figure.source,
                "recorded_at": now,
            }
        )
    if rows:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(CustomerMetric)
        statement = statement.on_conflict_do_update(
            index_elements=["customer_id", "period", "metric", "source"],
            set_={"value": statement.excluded.value, "recorded_at": statement.excluded.recorded_at},
        )
        connection = await session.connection()
        await connection.execute(statement, rows)
    return recorded


async def _values(
    session: AsyncSession, figures: Sequence[tuple[int, Figure]]
) -> dict[tuple[int, str, str, str], float]:
    """The stored value of each figure's key that has one."""
    customer_ids = sorted({c for c, _ in figures})
    metrics = sorted({f.metric for _, f in figures})
    periods = sorted({f.period for _, f in figures})
    found: dict[tuple[int, str, str, str], float] = {}
    for start in range(0, len(customer_ids), _CHUNK):
        chunk = customer_ids[start : start + _CHUNK]
        m = METRIC.c
        rows = await (await session.connection()).execute(
            core_select(m.customer_id, m.period, m.metric, m.source, m.value).where(
                m.customer_id.in_(chunk), m.metric.in_(metrics), m.period.in_(periods)
            )
        )
        found |= {(c, p, m, s): v for c, p, m, s, v in rows.all()}
    return found


async def latest(session: AsyncSession, customer_id: int) -> list[CustomerMetric]:
    """Each metric's newest figure from each source, by metric then source."""
    newer = METRIC.alias("newer")
    query = (
        select(CustomerMetric)
        .where(
            col(CustomerMetric.customer_id) == customer_id,
            ~select(newer.c.id)
            .where(
                and_(
                    newer.c.customer_id == customer_id,
                    newer.c.metric == col(CustomerMetric.metric),
                    newer.c.source == col(CustomerMetric.source),
                    newer.c.period > col(CustomerMetric.period),
                )
            )
            .exists(),
        )
        .order_by(col(CustomerMetric.metric), col(CustomerMetric.source))
    )
    return list((await session.exec(query)).all())


async def series(session: AsyncSession, customer_id: int, *, since: str | None = None) -> list[CustomerMetric]:
    """Every figure of the customer from the month ``since`` on, by metric, period and source."""
    query = select(CustomerMetric).where(col(CustomerMetric.customer_id) == customer_id)
    if since is not None:
        query = query.where(col(CustomerMetric.period) >= checked_period(since, "since"))
    query = query.order_by(col(CustomerMetric.metric), col(CustomerMetric.period), col(CustomerMetric.source))
    return list((await session.exec(query)).all())
