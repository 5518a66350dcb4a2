"""Cost to serve, measured from the audit trail: how long agents held each customer's tickets, at which
support tier, and how many tickets went to an outside vendor, priced with the tier policy's ``CostRates``
and rolled up per customer per calendar month (UTC).

**Handling time.** Every audit event records the ticket's state after it (``state``: status, assignee,
support tier). A ticket is *handled* by agent A at tier T while its state is ``in_progress`` with assignee
A at tier T: from a claim (or a take, an assignment, a resumption or a reopen into an agent's hands) until
the event that changes that — waiting on the customer, an escalation or de-escalation (by anyone), a
resolution, a release, a reassignment. Events that change none of the three (replies, notes, mail) do not
end a holding. Events written before the keyed audit chain (migration 0017) carry no state and count no
time.

**Set-based.** Every event starts a *segment* that lasts until the ticket's next event (one ``LEAD``
window over the trail); the segments whose state is held are the holdings, cut where other events fall,
which changes no sum. The database cuts them at month boundaries and sums them per customer, month and
support tier; Python prices those sums (one row per customer, month and tier). Only tickets that can have
held time in the window are read: those with an event since its start, and those in progress now (a
holding that spans the whole window).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, exists, func, literal, or_, select, union_all
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models import metadata
from router.models.columns import UTCDateTime, utcnow
from router.models.tickets import Status
from rules.tier_costs import CostRates

AUDIT = metadata.tables["audit_event"]
TICKET = metadata.tables["ticket"]
#: The audit action of a ticket handed to an outside vendor (``router/tickets/deliveries.py``).
VENDOR_HANDOFF = "vendor_handoff"
#: A holder is ``agent id * _TIERS + support tier`` in one integer (support tiers are 0-4), 0 for none.
_TIERS = 8
#: Customers per statement when the caller names them (bound parameters stay well under both databases').
_CHUNK = 1000
_CENT = Decimal("0.01")
_MILLISECOND = Decimal("0.001")


@dataclass(frozen=True)
class Interval:
    """Agent ``agent_id`` held ticket ``ticket_id`` at ``support_tier`` from ``start`` to ``end``."""

    ticket_id: int
    customer_id: int | None
    agent_id: int
    support_tier: int
    start: datetime
    end: datetime


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


# ------------------------------------------------------------------------------------------ SQL pieces
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
    """``later - earlier`` in seconds, a float (to the microsecond on PostgreSQL, the millisecond on SQLite)."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _least(dialect: str, a: Any, b: Any) -> ColumnElement[Any]:
    return func.least(a, b) if dialect == "postgresql" else func.min(a, b)


def _greatest(dialect: str, a: Any, b: Any) -> ColumnElement[Any]:
    return func.greatest(a, b) if dialect == "postgresql" else func.max(a, b)


def _segments(
    dialect: str,
    start: datetime,
    end: datetime,
    *,
    ticket_ids: Sequence[int] | None = None,
    customer_ids: Sequence[int] | None = None,
) -> Any:
    """The held segments overlapping ``[start, end)``, cut to it, as a subquery: ``ticket_id``,
    ``customer_id``, ``agent``, ``tier``, ``start``, ``end``, and ``seq`` and ``next_seq`` (the events that
    begin and end it; ``next_seq`` empty while it lasts)."""
    a, t = AUDIT.c, TICKET.c
    state = a.state
    holder = case(
        (
            state["status"].as_string() == Status.in_progress.value,
            state["assignee_id"].as_integer() * _TIERS + state["support_tier"].as_integer(),
        ),
        else_=0,
    )
    later = AUDIT.alias("later")
    since = exists().where(later.c.ticket_id == t.id, later.c.at >= _timestamp(start))
    wanted = [or_(since, t.status == Status.in_progress.value), a.at < _timestamp(end)]
    if ticket_ids is not None:
        wanted.append(t.id.in_(ticket_ids))
    if customer_ids is not None:
        wanted.append(t.customer_id.in_(customer_ids))
    events = (
        select(
            a.ticket_id,
            t.customer_id,
            a.seq,
            a.at,
            func.coalesce(holder, 0).label("holder"),
            func.lead(a.at).over(partition_by=a.ticket_id, order_by=a.seq).label("next_at"),
            func.lead(a.seq).over(partition_by=a.ticket_id, order_by=a.seq).label("next_seq"),
        )
        .select_from(AUDIT.join(TICKET, t.id == a.ticket_id))
        .where(*wanted)
        .subquery("events")
    )
    e = events.c
    until = func.coalesce(e.next_at, _timestamp(end))
    return (
        select(
            e.ticket_id,
            e.customer_id,
            (e.holder // _TIERS).label("agent"),
            (e.holder % _TIERS).label("tier"),
            _greatest(dialect, e.at, _timestamp(start)).label("start"),
            until.label("end"),
            e.seq,
            e.next_seq,
        )
        .where(e.holder != 0, until > _timestamp(start))
        .subquery("held")
    )


def _as_utc(value: Any) -> datetime:
    """A moment from a computed column (SQLite may hand back the text it stores)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ------------------------------------------------------------------------------------------ handling
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
    one ticket's or customer's timeline. Segments that follow each other (no event in between but ones that
    change nothing) are one holding. For sums over everything use ``handling_time`` or ``cost_to_serve``."""
    dialect = session.get_bind().dialect.name
    held = _segments(dialect, start, min(end, now or utcnow()), ticket_ids=ticket_ids, customer_ids=customer_ids)
    query = select(held).order_by(held.c.ticket_id, held.c.seq)
    found: list[Interval] = []
    ends_with: int | None = None  # the event that ended the last segment
    for r in await (await session.connection()).execute(query):
        piece = Interval(r.ticket_id, r.customer_id, r.agent, r.tier, _as_utc(r.start), _as_utc(r.end))
        last = found[-1] if found else None
        if (
            last is not None
            and r.seq == ends_with
            and (last.ticket_id, last.agent_id, last.support_tier)
            == (
                piece.ticket_id,
                piece.agent_id,
                piece.support_tier,
            )
        ):
            found[-1] = Interval(**{**last.__dict__, "end": piece.end})
        else:
            found.append(piece)
        ends_with = r.next_seq
    return found


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
    h = _segments(dialect, start, min(end, now or utcnow()), ticket_ids=ticket_ids).c
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
    handoff = _decimal(rates.vendor_handoff)
    for chunk in _chunks(customer_ids):
        held, tickets = await _handling_rows(session, window_start, window_end, chunk)
        handoffs = await _handoff_rows(session, window_start, window_end, chunk)
        for key in sorted(set(tickets) | set(handoffs)):
            seconds = cost = Decimal(0)
            for tier, tier_seconds in held.get(key, {}).items():
                seconds += tier_seconds
                cost += tier_seconds * _decimal(rates.hourly(tier)) / 3600
            count = handoffs.get(key, 0)
            found.setdefault(key[0], []).append(
                MonthlyCost(
                    month=key[1],
                    handling_seconds=int(seconds.quantize(Decimal(1), ROUND_HALF_UP)),
                    handling_cost=cost.quantize(_CENT, ROUND_HALF_UP),
                    vendor_handoffs=count,
                    handoff_cost=(handoff * count).quantize(_CENT, ROUND_HALF_UP),
                    tickets_handled=tickets.get(key, 0),
                )
            )
    return found


def _decimal(amount: Decimal | float) -> Decimal:
    return amount if isinstance(amount, Decimal) else Decimal(str(amount))


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


async def _handling_rows(
    session: AsyncSession, window_start: datetime, window_end: datetime, chunk: Sequence[int] | None
) -> tuple[dict[tuple[int, str], dict[int, Decimal]], dict[tuple[int, str], int]]:
    """``{(customer, month): {support tier: seconds held}}`` and ``{(customer, month): tickets held}``:
    segments cut at month ends, summed by the database in one statement (two groupings of one CTE)."""
    dialect = session.get_bind().dialect.name
    held = _segments(dialect, window_start, window_end, customer_ids=chunk)
    h = held.c
    table = _month_table(window_start, window_end)
    m = table.c
    pieces = (
        select(
            h.customer_id,
            m.month,
            h.tier,
            h.ticket_id,
            _seconds(dialect, _least(dialect, h.end, m.m_end), _greatest(dialect, h.start, m.m_start)).label("secs"),
        )
        .select_from(held.join(table, and_(h.start < m.m_end, h.end > m.m_start)))
        .where(h.customer_id.is_not(None))
        .cte("pieces")
    )
    p = pieces.c
    per_tier = select(p.customer_id, p.month, p.tier, func.sum(p.secs), literal(0)).group_by(
        p.customer_id, p.month, p.tier
    )
    per_month = select(p.customer_id, p.month, literal(-1), literal(0.0), func.count(p.ticket_id.distinct())).group_by(
        p.customer_id, p.month
    )
    held_seconds: dict[tuple[int, str], dict[int, Decimal]] = {}
    tickets: dict[tuple[int, str], int] = {}
    for customer, month, tier, seconds, count in await (await session.connection()).execute(
        union_all(per_tier, per_month)
    ):
        if tier < 0:
            tickets[(customer, month)] = count
        else:
            held_seconds.setdefault((customer, month), {})[tier] = Decimal(repr(float(seconds))).quantize(_MILLISECOND)
    return held_seconds, tickets


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
