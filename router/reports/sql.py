"""The shared ground of the report's queries: the tables, the filters, dialect-aware SQL helpers.

SQLAlchemy Core on ``report_ticket`` (``router.reports.facts``) and the audit trail; every figure is counted
by the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    case,
    cast,
    func,
    literal,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement, Executable, Select
from sqlalchemy.sql.selectable import Subquery
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models import metadata
from router.reports import facts as report_facts

audit = metadata.tables["audit_event"]
customer = metadata.tables["customer"]
facts = report_facts.facts

PERCENTILES = (0.5, 0.9)
ONE_DAY = timedelta(days=1)
ONE_WEEK = timedelta(days=7)


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


def dialect_of(session: AsyncSession) -> str:
    bind = session.get_bind()
    return bind.dialect.name


async def fetch_rows(session: AsyncSession, stmt: Executable, *, returns: bool = True) -> list[dict[str, Any]]:
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
    if dialect_of(session) == "postgresql":
        await fetch_rows(session, text("SET LOCAL work_mem = '256MB'"), returns=False)
        await fetch_rows(session, text("SET LOCAL jit = off"), returns=False)


async def fetch_all(session: AsyncSession, stmt: Executable) -> Sequence[Any]:
    return (await (await session.connection()).execute(stmt)).all()


async def in_index_order(session: AsyncSession, stmt: Executable) -> Sequence[Any]:
    """Run a GROUP BY that a covering index already orders, as a stream over that index. PostgreSQL's
    planner rates hashing a million rows (in parallel) as cheaper, but on the benchmark it is 4x slower:
    the index-only scan feeds a GroupAggregate without hashing or sorting anything."""
    connection = await session.connection()
    if dialect_of(session) != "postgresql":
        return (await connection.execute(stmt)).all()
    await fetch_rows(session, text("SET LOCAL enable_hashagg = off"), returns=False)
    await fetch_rows(session, text("SET LOCAL max_parallel_workers_per_gather = 0"), returns=False)
    try:
        return (await connection.execute(stmt)).all()
    finally:
        await fetch_rows(session, text("SET LOCAL enable_hashagg = on"), returns=False)
        await fetch_rows(session, text("RESET max_parallel_workers_per_gather"), returns=False)


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


def scoped(f: Filters, table: Any = None) -> list[ColumnElement[bool]]:
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
    return [facts.c.created_at >= f.since, facts.c.created_at < f.until, *scoped(f)]
