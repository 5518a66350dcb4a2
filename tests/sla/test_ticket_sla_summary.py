"""The SLA summary the database keeps on each ticket (``sla_next_due_at``, ``sla_state``; migration 0028)
follows the ticket's clocks through every way they change: opened and routed, a reply, waiting on the
customer, a breach fired by the ticker, resolved, reopened, and a clock deleted by hand. The lists sort
and filter on it, so a stale summary would put a ticket in the wrong view."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import time_machine
from sqlalchemy import delete
from sqlmodel import col, select

from queues.runtime import Runtime
from router.models.columns import utcnow
from router.models.sla import SlaClock
from router.models.tickets import NO_SLA_DUE, Ticket
from router.tickets import service as tickets
from router.unit_of_work import commit
from tests.conftest import auth, make_agent
from tests.sla.conftest import fire_timers, routed


def expected(clocks: list[SlaClock]) -> tuple[datetime, str | None]:
    """The summary as ``router.tickets.listing`` once computed it from the clocks, per request."""
    running = [c for c in clocks if c.stopped_at is None]
    dues = [c.due_at for c in running if c.paused_at is None and c.due_at is not None]
    if any(c.state == "breached" for c in running):
        state: str | None = "breached"
    elif any(c.state == "warning" for c in running):
        state = "warning"
    elif any(c.paused_at is not None for c in running):
        state = "paused"
    else:
        state = "ok" if running else None
    return min(dues, default=NO_SLA_DUE), state


async def summary(rt: Runtime, ticket_id: int) -> tuple[tuple[datetime, str | None], tuple[datetime, str | None]]:
    """(stored on the ticket, computed from its clocks)."""
    async with rt.app.sessionmaker() as s:
        ticket = (await s.exec(select(Ticket).where(col(Ticket.id) == ticket_id))).one()
        clocks = list((await s.exec(select(SlaClock).where(col(SlaClock.ticket_id) == ticket_id))).all())
        return (ticket.sla_next_due_at, ticket.sla_state), expected(clocks)


async def test_the_summary_follows_the_clocks_through_a_tickets_life(
    sla_rt: tuple[Runtime, httpx.AsyncClient],
) -> None:
    rt, client = sla_rt
    agent, token = await make_agent(rt, role="lead", tiers=())
    seen: list[str | None] = []

    async def check() -> None:
        stored, computed = await summary(rt, tid)
        assert stored == computed
        seen.append(stored[1])

    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        tid = await routed(rt, client, token)
        await check()  # two clocks running: ok, the first response due first
        r = await client.post(f"/api/v1/tickets/{tid}/messages", json={"body": "On it"}, headers=auth(token))
        assert r.status_code == 201
        await check()  # the first response stopped: the resolution's due time
        async with rt.app.sessionmaker() as s:
            ticket = await tickets.get(s, tid, lock=True)
            await tickets.wait_on_customer(s, ticket, tickets.Actor.of(agent), reason="logs")
            await commit(s, rt.app.effects)
        await check()  # paused: no due time
        async with rt.app.sessionmaker() as s:
            ticket = await tickets.get(s, tid, lock=True)
            mail = tickets.MailDetails()
            await tickets.add_inbound(s, ticket, author="pat@customer.example", body="Here.", mail=mail)
            await commit(s, rt.app.effects)
        await check()  # resumed
        clock.move_to(start + timedelta(days=30))
        await fire_timers(rt)
        await check()  # breached by the ticker (and escalated by the policy: the next tier's clocks)
        async with rt.app.sessionmaker() as s:
            ticket = await tickets.get(s, tid, lock=True)
            await tickets.resolve(s, ticket, tickets.Actor.of(agent), resolution="fixed")
            await commit(s, rt.app.effects)
        await check()  # every clock stopped
        async with rt.app.sessionmaker() as s:
            ticket = await tickets.get(s, tid, lock=True)
            await tickets.reopen(s, ticket, tickets.Actor.of(agent), reason="not fixed")
            await commit(s, rt.app.effects)
        await check()
        async with rt.app.sessionmaker() as s:
            await s.exec(delete(SlaClock).where(col(SlaClock.ticket_id) == tid))  # type: ignore[call-overload]
            await s.commit()
        await check()  # SQL by hand: the triggers still hold
    assert seen[:3] == ["ok", "ok", "paused"] and seen[-1] is None


async def test_views_sort_by_the_stored_due_time_and_filter_by_the_stored_state(
    sla_rt: tuple[Runtime, httpx.AsyncClient],
) -> None:
    rt, client = sla_rt
    _, token = await make_agent(rt, role="lead", tiers=())
    first, second, third = [await routed(rt, client, token) for _ in range(3)]
    async with rt.app.sessionmaker() as s:  # due times set by hand, as a policy change would move them
        for tid, hours in ((first, 5), (second, 1), (third, 3)):
            await s.exec(  # type: ignore[call-overload]
                SlaClock.__table__.update()  # type: ignore[attr-defined]
                .where(SlaClock.__table__.c.ticket_id == tid)  # type: ignore[attr-defined]
                .values(due_at=utcnow() + timedelta(hours=hours))
            )
        await s.exec(  # type: ignore[call-overload]
            SlaClock.__table__.update().where(SlaClock.__table__.c.ticket_id == third).values(state="breached")  # type: ignore[attr-defined]
        )
        await s.commit()
    r = await client.get("/api/v1/tickets?sort=sla_due&limit=2", headers=auth(token))
    assert [t["id"] for t in r.json()["items"]] == [second, third]
    r = await client.get(f"/api/v1/tickets?sort=sla_due&limit=2&cursor={r.json()['next_cursor']}", headers=auth(token))
    assert [t["id"] for t in r.json()["items"]] == [first]
    r = await client.get("/api/v1/tickets?sla=breached", headers=auth(token))
    assert [t["id"] for t in r.json()["items"]] == [third]
    r = await client.get("/api/v1/tickets?sla=ok&sort=sla_due", headers=auth(token))
    assert [t["id"] for t in r.json()["items"]] == [second, first]
