"""The report's roll-ups make it faster, never different: a report read through them equals the same report
read from the facts alone, and a day whose facts changed since its roll-up is read from the facts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import psycopg
import pytest
from sqlalchemy import and_, func, update
from sqlmodel import select

from queues import jobs
from queues.runtime import Runtime
from router.models.sla import SlaClock
from router.models.tickets import Ticket
from router.reports import rollups
from router.reports.schemas import SlaReport
from router.reports.service import make_filters, sla_report
from tests.conftest import PG_DSN
from tests.reports.conftest import NOW, SINCE, T0, T1, UNTIL, History

#: Two whole ISO weeks around the history (Monday 16 to Monday 30 November), so weeks are covered too.
WIDE = (datetime(2026, 11, 16, tzinfo=SINCE.tzinfo), datetime(2026, 11, 30, tzinfo=SINCE.tzinfo))
WINDOWS: list[dict[str, Any]] = [
    {"since": SINCE, "until": UNTIL},
    {"since": WIDE[0], "until": WIDE[1]},
    {"since": WIDE[0], "until": WIDE[1], "granularity": "week"},
    {"since": SINCE + timedelta(hours=6), "until": UNTIL - timedelta(hours=3)},
]


async def _report(rt: Runtime, **window: Any) -> SlaReport:
    async with rt.app.sessionmaker() as session:
        return await sla_report(session, make_filters(now=NOW, **window))


async def _refresh(rt: Runtime, *, everything: bool = False) -> int:
    async with rt.app.sessionmaker() as session:
        done = await rollups.refresh(await session.connection(), everything=everything)
        await session.commit()
        return done


async def _coverage(rt: Runtime, since: datetime, until: datetime) -> rollups.Coverage:
    async with rt.app.sessionmaker() as session:
        return await rollups.coverage(await session.connection(), since, until, filtered=False)


async def _tables(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    async with rt.app.sessionmaker() as session:
        connection = await session.connection()
        for table in (rollups.day_table, rollups.rule_table, rollups.histogram):
            rows = await connection.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
        paths = rollups.path_table
        rows = await connection.execute(select(*(c for c in paths.c if c.name != "id")))
        out[paths.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


async def test_a_report_through_the_roll_ups_equals_the_report_from_the_facts(history: History) -> None:
    rt = history.rt
    assert (await _coverage(rt, *WIDE)).days == (
        tuple(d for d in _days(*WIDE) if d not in {date(2026, 11, 24), date(2026, 11, 25)})
    ), "the history's days are marked dirty until a refresh"
    from_facts = [await _report(rt, **w) for w in WINDOWS]
    from_facts.append(await _report(rt, since=SINCE, until=UNTIL, customer_id=history.customers["globex"]))

    assert await jobs.refresh_report_rollups({"app": rt.app}) == "days=2"  # the cron job: Tuesday and Wednesday
    cover = await _coverage(rt, *WIDE)
    assert len(cover.days) == 14 and len(cover.weeks) == 2 and cover.day_gaps() == []
    through_rollups = [await _report(rt, **w) for w in WINDOWS]
    through_rollups.append(await _report(rt, since=SINCE, until=UNTIL, customer_id=history.customers["globex"]))
    assert through_rollups == from_facts
    assert from_facts[0].totals.tickets_in == 5 and from_facts[0].escalation_paths


async def test_a_window_in_which_no_ticket_arrived_still_counts_the_tickets_resolved_in_it(history: History) -> None:
    """Tuesday 09:01 to Wednesday 09:30: A, B, C and D arrived at 09:00 and E at 10:00 on Wednesday, while
    C (09:40) and A (finally at 12:00) were resolved inside the window."""
    report = await _report(history.rt, since=T0 + timedelta(minutes=1), until=T1 + timedelta(minutes=30))
    assert (report.totals.tickets_in, report.totals.tickets_out) == (0, 2)
    assert sum(b.tickets_out for b in report.by_support_tier) == 2


async def test_a_postgresql_report_reads_one_snapshot_while_others_write(history: History, pg_schema: str) -> None:
    """A change committed while the report runs (here: every fact deleted) shows in none of its later
    sections: coverage, roll-ups and facts are all read at the report's first statement."""
    if history.rt.app.settings.effective_database_url.startswith("sqlite"):
        pytest.skip("SQLite's read transaction is one snapshot by itself")

    def meanwhile(section: str) -> None:
        if section == "breakdowns":
            with psycopg.connect(PG_DSN, autocommit=True) as other:
                other.execute(f"SET search_path TO {pg_schema}")
                other.execute("DELETE FROM report_ticket")

    async with history.rt.app.sessionmaker() as session:
        report = await sla_report(session, make_filters(SINCE, UNTIL, now=NOW), meanwhile)
    assert report.totals.tickets_in == 5
    assert sum(p.tickets_in for p in report.trends) == 5 and report.escalation_paths and report.backlog
    assert (await _report(history.rt, since=SINCE, until=UNTIL)).totals.tickets_in == 0  # the next one sees it


async def test_a_clean_roll_up_is_read_and_a_dirty_one_is_not(history: History) -> None:
    """Proof that the roll-ups are really read (a wrong one shows) and that a dirty mark bypasses them."""
    rt = history.rt
    await _refresh(rt)
    before = await _report(rt, since=SINCE, until=UNTIL)
    async with rt.app.sessionmaker() as session:
        day = rollups.day_table
        tuesday = day.c.day == date(2026, 11, 24)
        cell = (await session.connection()).execute(select(func.min(day.c.cell)).where(tuesday))
        one_row = and_(tuesday, day.c.cell == (await cell).scalar_one())
        await (await session.connection()).execute(
            update(day).where(one_row).values(tickets_in=day.c.tickets_in + 1000)
        )
        await session.commit()
    assert (await _report(rt, since=SINCE, until=UNTIL)).totals.tickets_in == before.totals.tickets_in + 1000
    async with rt.app.sessionmaker() as session:
        await (await session.connection()).execute(rollups.dirty.insert().values(day=date(2026, 11, 24)))
        await session.commit()
    assert await _report(rt, since=SINCE, until=UNTIL) == before


async def test_a_change_after_the_refresh_is_in_the_next_report_at_once(history: History) -> None:
    rt = history.rt
    await _refresh(rt)
    before = await _report(rt, since=SINCE, until=UNTIL)
    async with rt.app.sessionmaker() as session:
        ticket = await session.get(Ticket, history.tickets["E"])
        assert ticket is not None
        ticket.priority = "urgent"
        await session.commit()
    changed = await _report(rt, since=SINCE, until=UNTIL)
    urgent = {b.key: b.tickets_in for b in changed.by_priority}
    assert urgent.get("urgent", 0) == {b.key: b.tickets_in for b in before.by_priority}.get("urgent", 0) + 1
    assert await _refresh(rt) == 1  # E's creation day, Wednesday
    assert await _report(rt, since=SINCE, until=UNTIL) == changed


async def test_a_deleted_row_behind_the_facts_marks_its_day_too(history: History) -> None:
    rt = history.rt
    await _refresh(rt)
    before = await _report(rt, since=SINCE, until=UNTIL)
    async with rt.app.sessionmaker() as session:
        found = await session.exec(
            select(SlaClock).where(SlaClock.ticket_id == history.tickets["E"], SlaClock.kind == "first_response")
        )
        await session.delete(found.one())
        await session.commit()
    after = await _report(rt, since=SINCE, until=UNTIL)
    assert after.totals.first_response_open == before.totals.first_response_open - 1
    assert await _refresh(rt) == 1
    assert await _report(rt, since=SINCE, until=UNTIL) == after


async def test_refreshing_the_marked_days_gives_the_roll_ups_of_a_full_rebuild(history: History) -> None:
    rt = history.rt
    await _refresh(rt)
    by_marks = await _tables(rt)
    assert by_marks["report_day"] and by_marks["report_week_histogram"] and by_marks["report_day_path"]
    await _refresh(rt, everything=True)
    assert await _tables(rt) == by_marks
    async with rt.app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(rollups.dirty)) == 0


def _days(since: datetime, until: datetime) -> list[date]:
    return [since.date() + timedelta(days=i) for i in range((until - since).days)]


@pytest.mark.parametrize(
    ("since", "until", "days", "gaps"),
    [
        (datetime(2026, 11, 24, 6), datetime(2026, 11, 26, 3), 1, 2),
        (datetime(2026, 11, 24), datetime(2026, 11, 26), 2, 0),
        (datetime(2026, 11, 24, 6), datetime(2026, 11, 24, 9), 0, 1),
    ],
)
def test_the_gaps_are_the_window_minus_the_covered_days(since: datetime, until: datetime, days: int, gaps: int) -> None:
    since, until = since.replace(tzinfo=SINCE.tzinfo), until.replace(tzinfo=SINCE.tzinfo)
    first = since.date() if since.hour == 0 else since.date() + timedelta(days=1)
    covered = tuple(first + timedelta(days=i) for i in range(days))
    cover = rollups.Coverage(since, until, covered)
    spans = cover.day_gaps()
    assert len(spans) == gaps
    # The gaps and the covered days tile the window exactly.
    pieces = sorted([*spans, *((rollups._midnight(d), rollups._midnight(d + timedelta(days=1))) for d in covered)])
    assert pieces[0][0] == since and pieces[-1][1] == until
    assert all(a[1] == b[0] for a, b in pairwise(pieces))
