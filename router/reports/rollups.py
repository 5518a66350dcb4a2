"""Per-day and per-week roll-ups of the report facts, and which part of a report's window may read them.

A report over six months would otherwise add up a million facts. The roll-ups hold the same sums per UTC
day and cell (``report_day``), the escalation paths and deciding rules per day (``report_day_path``,
``report_day_rule``) and the duration histograms per ISO week (``report_week_histogram``): a few thousand
rows.

They are exact by construction, not by timing:

- every change to a ticket's facts appends the days it touches (its creation day, its old and new
  resolution day) to ``report_dirty_day``, in the change's own transaction (``facts``);
- a report reads a roll-up row only for a whole day (week) inside its window that has no dirty mark, and
  reads the rest of its window from the facts (``Coverage``);
- ``refresh`` (a cron job, each minute) recomputes the marked days' roll-ups from the facts, then removes
  the marks it read; a change that commits meanwhile keeps its own mark until the next run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Executable

from router.models import metadata
from router.reports import facts as report_facts
from rules.vocabulary import PRIORITIES, SUPPORT_TIERS

facts = report_facts.facts
audit = metadata.tables["audit_event"]
day_table = metadata.tables["report_day"]
path_table = metadata.tables["report_day_path"]
rule_table = metadata.tables["report_day_rule"]
histogram = metadata.tables["report_week_histogram"]
dirty = metadata.tables["report_dirty_day"]

#: One refresh at a time (PostgreSQL advisory lock key; SQLite has one writer anyway).
_LOCK_KEY = 0x7469_6572_7275
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_EPOCH_JULIAN_DAY = 2440587.5


# --- expressions both databases share ----------------------------------------------------------------------


def day_of(dialect: str, moment: Any) -> ColumnElement[date]:
    """The UTC day a timestamp falls on."""
    if dialect == "postgresql":
        return cast(func.timezone(literal_column("'UTC'"), moment), Date)
    return func.date(moment)


def week_of(dialect: str, moment: Any) -> ColumnElement[date]:
    """The Monday (UTC) of the ISO week a timestamp falls in."""
    if dialect == "postgresql":
        return cast(func.date_trunc(literal_column("'week'"), func.timezone(literal_column("'UTC'"), moment)), Date)
    return func.date(moment, literal_column("'-6 days'"), literal_column("'weekday 1'"))


def epoch_ms(dialect: str, moment: Any) -> ColumnElement[int]:
    """A timestamp in whole milliseconds since the epoch."""
    if dialect == "postgresql":
        return cast(func.round(func.date_part("epoch", moment) * 1000), BigInteger)
    return cast(func.round((func.julianday(moment) - _EPOCH_JULIAN_DAY) * 86_400_000), Integer)


def as_epoch_ms(moment: datetime) -> int:
    """``epoch_ms`` of a Python datetime, rounding half up as both databases do."""
    micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return (micros + 500) // 1000


def count_if(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def cohort_sums(dialect: str) -> dict[str, ColumnElement[Any]]:
    """The additive figures of a set of facts rows: the same definitions for a roll-up day and for the part
    of a report's window read from the facts."""
    outcome = report_facts.OUTCOMES.index
    open_in_tier = and_(facts.c.is_open, facts.c.support_tier.is_not(None))
    return {
        "tickets_in": func.count(),
        "resolved": count_if(facts.c.resolved_at.is_not(None)),
        "escalated": count_if(facts.c.escalation_count > 0),
        "reopened": count_if(facts.c.reopen_count > 0),
        "fr_met": count_if(facts.c.fr_outcome == outcome("met")),
        "fr_breached": count_if(facts.c.fr_outcome == outcome("breached")),
        "fr_open": count_if(facts.c.fr_outcome == outcome("open")),
        "fr_unanswered": count_if(facts.c.fr_outcome == outcome("unanswered")),
        "res_met": count_if(facts.c.res_outcome == outcome("met")),
        "res_breached": count_if(facts.c.res_outcome == outcome("breached")),
        "res_open": count_if(facts.c.res_outcome == outcome("open")),
        "breaches": func.coalesce(func.sum(facts.c.breaches), 0),
        "open_in_tier": count_if(open_in_tier),
        "open_created_ms": func.coalesce(func.sum(case((open_in_tier, epoch_ms(dialect, facts.c.created_at)))), 0),
        **{f"tier{k}_ms": func.coalesce(func.sum(facts.c[f"tier{k}_ms"]), 0) for k in SUPPORT_TIERS},
        **{f"tier{k}_stays": func.coalesce(func.sum(facts.c[f"tier{k}_stays"]), 0) for k in SUPPORT_TIERS},
    }


def escalation_cause() -> ColumnElement[str | None]:
    """``agent`` or ``sla`` for an escalation (older events without a cause were agents'), NULL otherwise."""
    return case((audit.c.action == "escalated", func.coalesce(audit.c.data["cause"].as_string(), "agent")))


PATH_ACTIONS = ("escalated", "deescalated")


# --- breakdown groups --------------------------------------------------------------------------------------


def group_codes(cell: Any) -> list[ColumnElement[int]]:
    """The four breakdown groups of a cell as numbers: 0 all, 100 + support tier + 1 (100 for none),
    200 + customer tier, 300 + priority."""
    return [literal(0), 100 + cell // 100, 200 + (cell // 10) % 10, 300 + cell % 10]


def group_of(code: int) -> tuple[str, str]:
    """``group_codes`` back to the report's (dimension, key)."""
    if code == 0:
        return "all", "all"
    dim, key = divmod(code, 100)
    if dim == 1:
        return "support_tier", "none" if key == 0 else str(key - 1)
    if dim == 2:
        return "customer_tier", str(key)
    return "priority", PRIORITIES[key]


# --- which part of a window the roll-ups cover ---------------------------------------------------------------


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def runs(starts: Sequence[date], length: timedelta) -> list[tuple[date, date]]:
    """Consecutive periods merged into ``[first, end)`` runs (so a year of days is one range, not 365)."""
    out: list[tuple[date, date]] = []
    for start in sorted(starts):
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], start + length)
        else:
            out.append((start, start + length))
    return out


def within(column: Any, spans: Iterable[tuple[Any, Any]]) -> ColumnElement[bool]:
    """``column`` inside any of the ``[start, end)`` spans (false when there are none)."""
    conds = [and_(column >= start, column < end) for start, end in spans]
    return or_(*conds) if conds else false()


@dataclass(frozen=True)
class Coverage:
    """The clean whole days and weeks inside ``[since, until)`` whose roll-ups a report reads; the rest of
    the window (``day_gaps``, ``week_gaps``) it reads from the facts."""

    since: datetime
    until: datetime
    days: tuple[date, ...] = ()
    weeks: tuple[date, ...] = ()

    def day_gaps(self) -> list[tuple[datetime, datetime]]:
        return self._gaps(self.days, _DAY)

    def week_gaps(self) -> list[tuple[datetime, datetime]]:
        return self._gaps(self.weeks, _WEEK)

    def _gaps(self, covered: Sequence[date], length: timedelta) -> list[tuple[datetime, datetime]]:
        gaps = []
        cursor = self.since
        for first, end in runs(covered, length):
            if _midnight(first) > cursor:
                gaps.append((cursor, _midnight(first)))
            cursor = _midnight(end)
        if cursor < self.until:
            gaps.append((cursor, self.until))
        return gaps


async def coverage(connection: AsyncConnection, since: datetime, until: datetime, *, filtered: bool) -> Coverage:
    """What the roll-ups cover of ``[since, until)``: nothing for a customer's or agent's report (the roll-ups
    add up everyone), else every whole day without a dirty mark and every whole week of such days."""
    first = since.astimezone(UTC).date()
    if _midnight(first) < since:
        first += _DAY
    end = until.astimezone(UTC).date()
    if filtered or end <= first:
        return Coverage(since, until)
    marked = set(
        (
            await connection.execute(select(dirty.c.day).distinct().where(dirty.c.day >= first, dirty.c.day < end))
        ).scalars()
    )
    days = [first + timedelta(days=i) for i in range((end - first).days)]
    clean = [d for d in days if d not in marked]
    clean_set = set(clean)
    monday = first + timedelta(days=(7 - first.weekday()) % 7)
    weeks = []
    while monday + _WEEK <= end:
        if all(monday + timedelta(days=i) in clean_set for i in range(7)):
            weeks.append(monday)
        monday += _WEEK
    return Coverage(since, until, tuple(clean), tuple(weeks))


# --- recomputing the roll-ups ------------------------------------------------------------------------------


def _spans(periods: Sequence[date] | None, length: timedelta = _DAY) -> list[tuple[datetime, datetime]] | None:
    """The moments ``[start, end)`` of consecutive days (weeks), None for all of them."""
    return None if periods is None else [(_midnight(a), _midnight(b)) for a, b in runs(periods, length)]


def _scoped(column: Any, spans: list[tuple[datetime, datetime]] | None) -> list[ColumnElement[bool]]:
    return [] if spans is None else [within(column, spans)]


def day_rows(dialect: str, days: Sequence[date] | None) -> Any:
    """``report_day`` rows of ``days`` (of every day when None), from the facts."""
    spans = _spans(days)
    sums = cohort_sums(dialect)
    created_day = day_of(dialect, facts.c.created_at)
    resolved_day = day_of(dialect, facts.c.resolved_at)
    arrived = (
        select(created_day.label("day"), facts.c.cell, *(v.label(n) for n, v in sums.items()), literal(0).label("out"))
        .where(*_scoped(facts.c.created_at, spans))
        .group_by(created_day, facts.c.cell)
    )
    left = (
        select(
            resolved_day.label("day"),
            facts.c.cell,
            *(literal(0).label(n) for n in sums),
            func.count().label("out"),
        )
        .where(facts.c.resolved_at.is_not(None), *_scoped(facts.c.resolved_at, spans))
        .group_by(resolved_day, facts.c.cell)
    )
    both = union_all(arrived, left).subquery("both")
    return select(
        both.c.day,
        both.c.cell,
        *(func.sum(both.c[n]).label(n) for n in sums),
        func.sum(both.c.out).label("tickets_out"),
    ).group_by(both.c.day, both.c.cell)


def path_rows(dialect: str, days: Sequence[date] | None) -> Any:
    """``report_day_path`` rows of ``days``: escalations and de-escalations by the ticket's creation day."""
    created_day = day_of(dialect, facts.c.created_at)
    cause = escalation_cause()
    return (
        select(
            created_day.label("day"),
            audit.c.action,
            audit.c.from_tier,
            audit.c.to_tier,
            cause.label("cause"),
            func.count().label("n"),
        )
        .join(facts, facts.c.ticket_id == audit.c.ticket_id)
        .where(audit.c.action.in_(PATH_ACTIONS), *_scoped(facts.c.created_at, _spans(days)))
        .group_by(created_day, audit.c.action, audit.c.from_tier, audit.c.to_tier, cause)
    )


def rule_rows(dialect: str, days: Sequence[date] | None) -> Any:
    """``report_day_rule`` rows of ``days``: escalated tickets and their escalations per deciding rule."""
    created_day = day_of(dialect, facts.c.created_at)
    return (
        select(
            created_day.label("day"),
            facts.c.routed_by.label("rule"),
            func.count().label("tickets"),
            func.sum(facts.c.escalation_count).label("escalations"),
        )
        .where(
            facts.c.escalation_count > 0,
            facts.c.routed_by.is_not(None),
            *_scoped(facts.c.created_at, _spans(days)),
        )
        .group_by(created_day, facts.c.routed_by)
    )


def histogram_rows(dialect: str, weeks: Sequence[date] | None) -> Any:
    """``report_week_histogram`` rows of ``weeks`` (Mondays; every week when None), from the facts."""
    spans = _spans(weeks, _WEEK)
    week = week_of(dialect, facts.c.created_at)
    parts: list[Any] = []
    for index, metric in enumerate(report_facts.DURATIONS):
        b = facts.c[f"{metric}_b"]
        fine = (
            select(week.label("week"), facts.c.cell, b.label("b"), func.count().label("n"))
            .where(b.is_not(None), *_scoped(facts.c.created_at, spans))
            .group_by(week, facts.c.cell, b)
            .cte(f"fine_{metric}")
        )
        parts.extend(
            select(fine.c.week, literal(index).label("metric"), code.label("grp"), fine.c.b, fine.c.n)
            for code in group_codes(fine.c.cell)
        )
    every = union_all(*parts).subquery("every")
    return select(every.c.week, every.c.metric, every.c.grp, every.c.b, func.sum(every.c.n).label("n")).group_by(
        every.c.week, every.c.metric, every.c.grp, every.c.b
    )


def _replace(table: Any, key: Any, spans: list[tuple[date, date]] | None, rows: Any) -> list[Executable]:
    remove = delete(table) if spans is None else delete(table).where(within(key, spans))
    return [remove, table.insert().from_select(list(rows.selected_columns.keys()), rows)]


def refresh_statements(dialect: str, days: Sequence[date] | None = None) -> list[Executable]:
    """Recompute the roll-ups of ``days`` and of the weeks they fall in (everything when None)."""
    day_spans = None if days is None else runs(days, _DAY)
    weeks = None if days is None else sorted({d - timedelta(days=d.weekday()) for d in days})
    week_spans = None if weeks is None else runs(weeks, _WEEK)
    return [
        *_replace(day_table, day_table.c.day, day_spans, day_rows(dialect, days)),
        *_replace(path_table, path_table.c.day, day_spans, path_rows(dialect, days)),
        *_replace(rule_table, rule_table.c.day, day_spans, rule_rows(dialect, days)),
        *_replace(histogram, histogram.c.week, week_spans, histogram_rows(dialect, weeks)),
    ]


async def refresh(connection: AsyncConnection, *, everything: bool = False) -> int:
    """Recompute the roll-ups of the days marked dirty (of every day when ``everything``) and remove the
    marks read; returns how many days were recomputed (-1 for everything). Runs in the caller's transaction,
    one refresh at a time."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    marks = (await connection.execute(select(dirty.c.id, dirty.c.day))).all()
    if not marks and not everything:
        return 0
    days = None if everything else sorted({m.day for m in marks})
    for statement in refresh_statements(dialect, days):
        await connection.execute(statement)
    ids = [m.id for m in marks]
    for start in range(0, len(ids), 1000):
        await connection.execute(delete(dirty).where(dirty.c.id.in_(ids[start : start + 1000])))
    return -1 if days is None else len(days)
