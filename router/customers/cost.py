"""Cost to serve, measured from the audit trail: how long agents held each customer's tickets, at which
support tier, and how many tickets went to an outside vendor, priced with the tier policy's ``CostRates``
and rolled up per customer per calendar month (UTC).

**Handling time.** Every audit event records the ticket's state after it (``state``: status, assignee,
support tier). A ticket is *handled* by agent A at tier T while its state is ``in_progress`` with assignee
A at tier T: from a claim (or a take, an assignment, a resumption or a reopen into an agent's hands) until
the event that changes that — waiting on the customer, an escalation or de-escalation (by anyone), a
resolution, a release, a reassignment. Events that change none of the three (replies, notes, mail) do not
cut an interval. Events written before the keyed audit chain (migration 0017) carry no state and count no
time.

**Set-based.** Each figure is one SQL statement over the trail: a window function finds where the holder
changes (``LAG``), another where each holding ends (``LEAD``), and the intervals are cut at month
boundaries and summed per customer and month by the database; Python only shapes the rows it returns
(one per customer and month). Only tickets that can have held time in the window are read: those with an
event since its start, and those in progress now (a holding that spans the whole window).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Numeric, and_, case, func, literal, or_, select, union_all
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models import metadata
from router.models.columns import UTCDateTime, utcnow
from router.models.tickets import Status
from rules.tier_costs import CostRates
from rules.vocabulary import SUPPORT_TIERS

AUDIT = metadata.tables["audit_event"]
TICKET = metadata.tables["ticket"]
#: The audit action of a ticket handed to an outside vendor (``router/tickets/deliveries.py``).
VENDOR_HANDOFF = "vendor_handoff"
#: Customers per statement when the caller names them (bound parameters stay well under both databases').
_CHUNK = 1000
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Interval:
    """Agent ``agent_id`` held ticket ``ticket_id`` at ``support_tier`` from ``start`` to ``end``."""

    ticket_id: int
    customer_id: int | None
    agent_id: int
    support_tier: int
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class MonthlyCost:
    """One customer's cost to serve in one month (``YYYY-MM``), in the rates' currency."""

    month: str
    #: Time agents held the customer's tickets, whole seconds.
    handling_seconds: int
    handling_cost: Decimal
    vendor_handoffs: int
    handoff_cost: Decimal
    #: Tickets agents held in the month.
    tickets_handled: int

    @property
    def total(self) -> Decimal:
        return self.handling_cost + self.handoff_cost

    @property
    def handling_hours(self) -> Decimal:
        return (Decimal(self.handling_seconds) / 3600).quantize(_CENT, ROUND_HALF_UP)


# ------------------------------------------------------------------------------------------ the window
def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def months(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """The calendar months overlapping ``[start, end)``, each cut to it: ``(YYYY-MM, from, to)``."""
    found = []
    year, month = start.year, start.month
    while (first := datetime(year, month, 1, tzinfo=UTC)) < end:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        following = datetime(year, month, 1, tzinfo=UTC)
        found.append((f"{first:%Y-%m}", max(first, start), min(following, end)))
    return found


def _timestamp(moment: datetime) -> ColumnElement[Any]:
    return literal(moment, UTCDateTime)


def _seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """``later - earlier`` in seconds (to the microsecond on PostgreSQL, the millisecond on SQLite)."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _least(dialect: str, a: Any, b: Any) -> ColumnElement[Any]:
    return func.least(a, b) if dialect == "postgresql" else func.min(a, b)


def _greatest(dialect: str, a: Any, b: Any) -> ColumnElement[Any]:
    return func.greatest(a, b) if dialect == "postgresql" else func.max(a, b)


# ------------------------------------------------------------------------------------------ intervals
def _intervals(
    dialect: str,
    start: datetime,
    end: datetime,
    *,
    ticket_ids: Sequence[int] | None = None,
    customer_ids: Sequence[int] | None = None,
) -> Any:
    """Every holding that overlaps ``[start, end)``, cut to it, as a subquery: ``ticket_id``,
    ``customer_id``, ``agent``, ``tier``, ``start``, ``end``."""
    a, t = AUDIT.c, TICKET.c
    held = and_(
        a.state["status"].as_string() == Status.in_progress.value, a.state["assignee_id"].as_integer().is_not(None)
    )
    agent = case((held, a.state["assignee_id"].as_integer()), else_=0)
    tier = case((held, a.state["support_tier"].as_integer()), else_=-1)
    recent = select(a.ticket_id).where(a.at >= _timestamp(start))
    wanted = [or_(t.id.in_(recent), t.status == Status.in_progress.value), a.at < _timestamp(end)]
    if ticket_ids is not None:
        wanted.append(t.id.in_(ticket_ids))
    if customer_ids is not None:
        wanted.append(t.customer_id.in_(customer_ids))
    steps = (
        select(
            a.ticket_id,
            t.customer_id,
            a.seq,
            a.at,
            agent.label("agent"),
            tier.label("tier"),
            func.lag(agent).over(partition_by=a.ticket_id, order_by=a.seq).label("prev_agent"),
            func.lag(tier).over(partition_by=a.ticket_id, order_by=a.seq).label("prev_tier"),
        )
        .select_from(AUDIT.join(TICKET, t.id == a.ticket_id))
        .where(*wanted)
        .subquery("steps")
    )
    s = steps.c
    changes = (
        select(
            s.ticket_id,
            s.customer_id,
            s.agent,
            s.tier,
            s.at.label("held_from"),
            func.lead(s.at).over(partition_by=s.ticket_id, order_by=s.seq).label("held_until"),
        )
        .where(or_(s.prev_agent.is_(None), s.agent != s.prev_agent, s.tier != s.prev_tier))
        .subquery("changes")
    )
    c = changes.c
    until = func.coalesce(c.held_until, _timestamp(end))
    return (
        select(
            c.ticket_id,
            c.customer_id,
            c.agent,
            c.tier,
            _greatest(dialect, c.held_from, _timestamp(start)).label("start"),
            until.label("end"),
        )
        .where(c.agent != 0, until > _timestamp(start))
        .subquery("held")
    )


async def handling_intervals(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    ticket_ids: Sequence[int] | None = None,
    customer_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> list[Interval]:
    """The holdings of ``[start, end)`` (cut to it and to ``now``, default the clock), by ticket and start:
    one ticket's or customer's timeline; for everything at once use ``handling_time`` or ``cost_to_serve``."""
    dialect = session.get_bind().dialect
    end = min(end, now or utcnow())
    held = _intervals(dialect.name, start, end, ticket_ids=ticket_ids, customer_ids=customer_ids)
    rows = await (await session.connection()).execute(select(held).order_by(held.c.ticket_id, held.c.start))
    return [Interval(r.ticket_id, r.customer_id, r.agent, r.tier, _as_utc(r.start), _as_utc(r.end)) for r in rows]


def _as_utc(value: Any) -> datetime:
    """A moment from a computed column (SQLite may hand back the text it stores)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def handling_time(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    ticket_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> dict[tuple[int, int], float]:
    """Seconds each agent held each ticket in ``[start, end)`` (up to ``now``, default the clock):
    ``{(ticket_id, agent_id): seconds}``, to the millisecond."""
    dialect = session.get_bind().dialect.name
    h = _intervals(dialect, start, min(end, now or utcnow()), ticket_ids=ticket_ids).c
    query = select(h.ticket_id, h.agent, func.sum(_seconds(dialect, h.end, h.start))).group_by(h.ticket_id, h.agent)
    rows = await (await session.connection()).execute(query)
    return {(ticket, agent): round(float(total), 3) for ticket, agent, total in rows}


# ------------------------------------------------------------------------------------------ cost to serve
async def cost_to_serve(
    session: AsyncSession,
    start: date,
    end: date,
    rates: CostRates,
    customer_ids: Sequence[int] | None = None,
    *,
    now: datetime | None = None,
) -> dict[int, list[MonthlyCost]]:
    """Each customer's cost to serve per month of ``[start, end)`` (``end`` exclusive: ``2026-10-01`` to
    ``2027-01-01`` is the fourth quarter), months in order; customers with no handling and no handoff in
    the window are left out. Time after ``now`` (default: the clock) is not counted yet.

    :param rates: the hourly rate of each support tier and the price of a vendor handoff.
    :param customer_ids: only these customers (None: all).
    """
    window_start = _moment(start)
    window_end = min(_moment(end), now or utcnow())
    found: dict[int, list[MonthlyCost]] = {}
    if window_end <= window_start:
        return found
    for chunk in _chunks(customer_ids):
        rows = await _handling_rows(session, window_start, window_end, rates, chunk)
        handoffs = await _handoff_rows(session, window_start, window_end, chunk)
        for key in sorted(set(rows) | set(handoffs)):
            seconds, cost, handled = rows.get(key, (0.0, Decimal(0), 0))
            count = handoffs.get(key, 0)
            found.setdefault(key[0], []).append(
                MonthlyCost(
                    month=key[1],
                    handling_seconds=round(seconds),
                    handling_cost=cost.quantize(_CENT, ROUND_HALF_UP),
                    vendor_handoffs=count,
                    handoff_cost=(_decimal(rates.vendor_handoff) * count).quantize(_CENT, ROUND_HALF_UP),
                    tickets_handled=handled,
                )
            )
    return found


def _chunks(customer_ids: Sequence[int] | None) -> Iterator[Sequence[int] | None]:
    if customer_ids is None:
        yield None
        return
    ids = sorted(set(customer_ids))
    for first in range(0, len(ids), _CHUNK):
        yield ids[first : first + _CHUNK]


def _month_table(window_start: datetime, window_end: datetime) -> Any:
    """The window's months as rows ``(month, m_start, m_end)`` (a ``UNION ALL`` of literals: both databases)."""
    rows = [
        select(literal(label).label("month"), _timestamp(lo).label("m_start"), _timestamp(hi).label("m_end"))
        for label, lo, hi in months(window_start, window_end)
    ]
    return union_all(*rows).subquery("months")


def _hourly(dialect: str, rates: CostRates, tier: Any) -> ColumnElement[Any]:
    """The hourly rate of the interval's tier: a ``numeric`` PostgreSQL multiplies exactly, a float on SQLite
    (which has no decimal type; the sums are rounded to the cent after)."""

    def amount(value: Decimal) -> ColumnElement[Any]:
        return literal(value, Numeric(20, 6)) if dialect == "postgresql" else literal(float(value))

    whens = [(tier == t, amount(_decimal(rates.hourly(t)))) for t in SUPPORT_TIERS]
    return case(*whens, else_=amount(Decimal(0)))


def _decimal(amount: Decimal | float) -> Decimal:
    return amount if isinstance(amount, Decimal) else Decimal(str(amount))


async def _handling_rows(
    session: AsyncSession, window_start: datetime, window_end: datetime, rates: CostRates, chunk: Sequence[int] | None
) -> dict[tuple[int, str], tuple[float, Decimal, int]]:
    """``{(customer, month): (seconds held, their cost, tickets held)}``: holdings cut at month ends."""
    dialect = session.get_bind().dialect.name
    held = _intervals(dialect, window_start, window_end, customer_ids=chunk)
    h = held.c
    table = _month_table(window_start, window_end)
    m = table.c
    piece = _seconds(dialect, _least(dialect, h.end, m.m_end), _greatest(dialect, h.start, m.m_start))
    query = (
        select(
            h.customer_id,
            m.month,
            func.sum(piece),
            func.sum(piece * _hourly(dialect, rates, h.tier) / 3600),
            func.count(h.ticket_id.distinct()),
        )
        .select_from(held.join(table, and_(h.start < m.m_end, h.end > m.m_start)))
        .where(h.customer_id.is_not(None))
        .group_by(h.customer_id, m.month)
    )
    rows = await (await session.connection()).execute(query)
    return {
        (customer, month): (float(seconds), Decimal(str(cost)), tickets)
        for customer, month, seconds, cost, tickets in rows
    }


async def _handoff_rows(
    session: AsyncSession, window_start: datetime, window_end: datetime, chunk: Sequence[int] | None
) -> dict[tuple[int, str], int]:
    """``{(customer, month): vendor handoffs}``."""
    a, t = AUDIT.c, TICKET.c
    table = _month_table(window_start, window_end)
    m = table.c
    wanted = [
        a.action == VENDOR_HANDOFF,
        a.at >= _timestamp(window_start),
        a.at < _timestamp(window_end),
        t.customer_id.is_not(None),
    ]
    if chunk is not None:
        wanted.append(t.customer_id.in_(chunk))
    query = (
        select(t.customer_id, m.month, func.count())
        .select_from(AUDIT.join(TICKET, t.id == a.ticket_id).join(table, and_(a.at >= m.m_start, a.at < m.m_end)))
        .where(*wanted)
        .group_by(t.customer_id, m.month)
    )
    rows = await (await session.connection()).execute(query)
    return {(customer, month): count for customer, month, count in rows}


def totals(costs: dict[int, list[MonthlyCost]]) -> dict[int, Decimal]:
    """Each customer's cost over the whole window."""
    return {customer: sum((m.total for m in monthly), Decimal(0)) for customer, monthly in costs.items()}
