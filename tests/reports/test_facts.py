"""The report's per-ticket facts stay exactly what a rebuild from the audit trail would compute."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from queues.runtime import Runtime
from router.reports import facts
from router.reports.service import make_filters, sla_report
from tests.reports.conftest import NOW, SINCE, UNTIL, History


async def _facts(rt: Runtime) -> list[dict[str, Any]]:
    async with rt.app.sessionmaker() as session:
        result = await (await session.connection()).execute(select(facts.facts).order_by(facts.facts.c.ticket_id))
        return [dict(r._mapping) for r in result]


async def _rebuild(rt: Runtime) -> None:
    async with rt.app.sessionmaker() as session:
        connection = await session.connection()
        for statement in facts.refresh_statements(connection.dialect.name):
            await connection.execute(statement)
        await session.commit()


async def test_facts_kept_by_each_change_equal_a_rebuild_from_the_audit_trail(history: History) -> None:
    """The history goes through intake, routing, replies, SLA timers (breaches, an SLA escalation),
    escalations, a de-escalation, a reopen and a vendor handoff with its delivery and callback."""
    kept = await _facts(history.rt)
    assert [f["ticket_id"] for f in kept] == sorted(history.tickets.values())
    await _rebuild(history.rt)
    assert await _facts(history.rt) == kept
    by_id = {f["ticket_id"]: f for f in kept}
    c = by_id[history.tickets["C"]]
    assert (c["escalation_count"], c["tier1_stays"], c["tier2_stays"], c["tier3_stays"]) == (2, 1, 2, 1)
    assert c["tier3_ms"] == 10 * 60 * 1000  # escalated to 3 at T0+20m, back to 2 at T0+30m
    d = by_id[history.tickets["D"]]
    assert d["is_open"] and d["vendor_handoff_at"] is not None and d["vendor_delivered_at"] is not None


async def test_rebuilding_the_facts_does_not_change_the_report(history: History) -> None:
    f = make_filters(SINCE, UNTIL, now=NOW)
    async with history.rt.app.sessionmaker() as session:
        before = await sla_report(session, f)
    async with history.rt.app.sessionmaker() as session:
        await (await session.connection()).execute(facts.facts.delete())
        await session.commit()
    async with history.rt.app.sessionmaker() as session:
        assert (await sla_report(session, f)).totals.tickets_in == 0  # the report reads only the facts
    await _rebuild(history.rt)
    async with history.rt.app.sessionmaker() as session:
        assert await sla_report(session, f) == before


async def test_a_rolled_back_change_leaves_the_facts_as_they_were(history: History) -> None:
    from router.models.tickets import Ticket

    kept = await _facts(history.rt)
    async with history.rt.app.sessionmaker() as session:
        ticket = await session.get(Ticket, history.tickets["E"])
        assert ticket is not None
        ticket.priority = "urgent"
        await session.flush()
        await session.rollback()
    assert await _facts(history.rt) == kept
