"""Clocks on business calendars: pause and resume, DST weekends, the API view, reconcile after FLUSHALL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine

from queues.names import SLA_TIMERS
from queues.reconcile import reconcile, reschedule_overdue_timers
from queues.runtime import Runtime
from router.models.columns import utcnow
from router.settings import Settings
from router.sla.queries import near_breach
from router.tickets import service as tickets
from router.unit_of_work import commit
from tests.conftest import auth, make_agent, make_customer
from tests.sla.conftest import POLICIES, clocks, fire_timers, routed
from tests.sla.conftest import _runtime as sla_runtime

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
HOUR = 3600


def at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


async def customer_reply(rt: Runtime, ticket_id: int, author: str) -> None:
    async with rt.app.sessionmaker() as s:
        ticket = await tickets.get(s, ticket_id, lock=True)
        await tickets.add_inbound(
            s, ticket, author=author, body="Here is what you asked for.", mail=tickets.MailDetails()
        )
        await commit(s, rt.app.effects)


def sla_of(response: httpx.Response) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["kind"]: c for c in response.json()["sla"]["clocks"]}


async def test_a_reply_meets_the_first_response_and_waiting_pauses_the_clock(
    sla_rt: tuple[Runtime, httpx.AsyncClient],
) -> None:
    rt, client = sla_rt
    _, lead = await make_agent(rt, role="lead", tiers=())
    await make_customer(rt, ref="acme", tier=2, domain="acme.example")  # tier 2 -> "office" (Berlin hours)
    with time_machine.travel(at(BERLIN, 2026, 11, 27, 15, 0), tick=False) as clock:  # a Friday
        tid = await routed(rt, client, lead, requester_email="pat@acme.example")
        found = await clocks(rt, tid)
        assert found["first_response"].due_at == at(BERLIN, 2026, 11, 27, 17, 0)
        assert found["resolution"].due_at == at(BERLIN, 2026, 11, 30, 15, 0)  # 2 h Friday + 6 h Monday

        clock.move_to(at(BERLIN, 2026, 11, 27, 16, 0))
        r = await client.post(f"/api/v1/tickets/{tid}/messages", json={"body": "Looking into it"}, headers=auth(lead))
        assert r.status_code == 201
        clock.move_to(at(BERLIN, 2026, 11, 27, 16, 30))
        waiting = await client.post(f"/api/v1/tickets/{tid}/wait", json={"reason": "need logs"}, headers=auth(lead))
        view = sla_of(waiting)
        assert view["first_response"]["state"] == "met" and view["first_response"]["met_at"] is not None
        assert view["resolution"]["state"] == "paused" and view["resolution"]["paused"] is True
        assert view["resolution"]["remaining_business_seconds"] == 6.5 * HOUR
        assert waiting.json()["sla"]["state"] == "paused"
        assert await rt.pool.zcard(SLA_TIMERS) == 0  # met and paused clocks have no timer

        clock.move_to(at(BERLIN, 2026, 11, 30, 10, 0))  # the weekend passes while waiting
        assert await fire_timers(rt) == 0
        await customer_reply(rt, tid, "pat@acme.example")
        resumed = await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))
        view = sla_of(resumed)
        assert resumed.json()["status"] == "queued" and resumed.json()["sla"]["state"] == "ok"
        assert view["resolution"]["remaining_business_seconds"] == 6.5 * HOUR
        assert view["resolution"]["due_at"] == at(BERLIN, 2026, 11, 30, 16, 30).isoformat().replace("+00:00", "Z")
        # The requester's message after the first response starts the next-response clock.
        assert view["next_response"]["state"] == "ok"
        assert (await clocks(rt, tid))["next_response"].due_at == at(BERLIN, 2026, 11, 30, 14, 0)

        clock.move_to(at(BERLIN, 2026, 11, 30, 12, 15))  # 50 % of 4 h: the next-response warning (12:00)
        assert await fire_timers(rt) == 1
        assert sla_of(await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead)))["next_response"]["state"] == (
            "warning"
        )


@pytest.mark.parametrize(
    ("tier", "zone", "start", "first_due", "resolution_due"),
    [
        # DST ends on Sunday 2026-10-25 in Berlin: Friday is UTC+2, Monday UTC+1.
        (2, BERLIN, (2026, 10, 23, 16, 0), (2026, 10, 26, 10, 0), (2026, 10, 26, 16, 0)),
        # DST ends on Sunday 2026-11-01 in New York: Friday is UTC-4, Monday UTC-5.
        (1, NEW_YORK, (2026, 10, 30, 16, 0), (2026, 11, 2, 12, 0), (2026, 11, 2, 16, 0)),
        # DST starts on Sunday 2026-03-08 in New York: Friday is UTC-5, Monday UTC-4.
        (1, NEW_YORK, (2026, 3, 6, 16, 0), (2026, 3, 9, 12, 0), (2026, 3, 9, 16, 0)),
    ],
)
async def test_due_times_keep_local_business_hours_across_a_dst_weekend(
    sla_rt: tuple[Runtime, httpx.AsyncClient],
    tier: int,
    zone: ZoneInfo,
    start: tuple[int, ...],
    first_due: tuple[int, ...],
    resolution_due: tuple[int, ...],
) -> None:
    rt, client = sla_rt
    _, lead = await make_agent(rt, role="lead", tiers=())
    await make_customer(rt, ref="acme", tier=tier, domain="acme.example")
    with time_machine.travel(at(zone, *start), tick=False) as clock:
        tid = await routed(rt, client, lead, requester_email="pat@acme.example")
        found = await clocks(rt, tid)
        assert found["first_response"].due_at == at(zone, *first_due)
        assert found["resolution"].due_at == at(zone, *resolution_due)
        clock.move_to(at(zone, *resolution_due) - timedelta(hours=1))
        view = sla_of(await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead)))
        assert view["resolution"]["remaining_business_seconds"] == HOUR
        assert view["first_response"]["state"] == "ok"  # its timers have not been fired in this test


async def test_near_breach_lists_a_tiers_tickets_soonest_first(sla_rt: tuple[Runtime, httpx.AsyncClient]) -> None:
    rt, client = sla_rt
    _, lead = await make_agent(rt, role="lead", tiers=())
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False) as clock:
        first = await routed(rt, client, lead)
        clock.shift(timedelta(minutes=2))
        second = await routed(rt, client, lead)
        clock.shift(timedelta(minutes=6))
        async with rt.app.sessionmaker() as s:
            near = await near_breach(s, 1, now=utcnow(), within=timedelta(minutes=5))
            assert [(t.id, c.kind) for t, c in near] == [(first, "first_response"), (second, "first_response")]
            assert await near_breach(s, 2, now=utcnow(), within=timedelta(minutes=5)) == []
        listed = (await client.get("/api/v1/tickets", headers=auth(lead))).json()["items"]
        assert {t["sla"]["policy"] for t in listed} == {"chain"}


async def test_reconcile_rebuilds_every_timer_after_flushall(
    private_sla_rt: tuple[Runtime, httpx.AsyncClient],
) -> None:
    rt, client = private_sla_rt
    _, lead = await make_agent(rt, role="lead", tiers=())
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False) as clock:
        ids = [await routed(rt, client, lead) for _ in range(3)]
        before = await rt.pool.zrange(SLA_TIMERS, 0, -1, withscores=True)
        assert len(before) == 6  # first response and resolution for each ticket
        await rt.pool.flushall()
        assert await rt.pool.zcard(SLA_TIMERS) == 0
        report = await reconcile(rt.app, rt.pool)
        assert report.sla_timers == 6
        assert await rt.pool.zrange(SLA_TIMERS, 0, -1, withscores=True) == before
        clock.shift(timedelta(minutes=6))
        assert await fire_timers(rt) == 3
        assert [(await clocks(rt, tid))["first_response"].state for tid in ids] == ["warning"] * 3


async def test_the_sweep_puts_back_a_timer_lost_after_the_commit(sla_rt: tuple[Runtime, httpx.AsyncClient]) -> None:
    rt, client = sla_rt
    _, lead = await make_agent(rt, role="lead", tiers=())
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False) as clock:
        tid = await routed(rt, client, lead)
        await rt.pool.delete(SLA_TIMERS)  # e.g. Redis lost the write between commit and apply
        clock.shift(timedelta(minutes=6))
        assert await fire_timers(rt) == 0
        assert await reschedule_overdue_timers(rt.app, rt.pool, grace_seconds=60) == 0  # not overdue by a minute
        clock.shift(timedelta(minutes=1))
        assert await reschedule_overdue_timers(rt.app, rt.pool, grace_seconds=60) == 1
        assert await fire_timers(rt) == 1
        assert (await clocks(rt, tid))["first_response"].state == "warning"


async def _claim_wait_resolve(rt: Runtime, client: httpx.AsyncClient, *, note: bool) -> dict[str, dict]:  # type: ignore[type-arg]
    """Claim, wait on the customer, (an internal note,) resolve: nothing ever sent to the requester."""
    _, token = await make_agent(rt, role="agent", tiers=(1,))
    tid = await routed(rt, client, token)
    claimed = await client.post("/api/v1/queues/1/claim", headers=auth(token))
    assert claimed.status_code == 200 and claimed.json()["id"] == tid
    waiting = await client.post(f"/api/v1/tickets/{tid}/wait", json={"reason": "need logs"}, headers=auth(token))
    assert waiting.status_code == 200, waiting.text
    if note:
        r = await client.post(
            f"/api/v1/tickets/{tid}/messages", json={"body": "checked", "internal": True}, headers=auth(token)
        )
        assert r.status_code == 201
    resolved = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"resolution": "dup"}, headers=auth(token))
    assert resolved.status_code == 200, resolved.text
    return sla_of(await client.get(f"/api/v1/tickets/{tid}", headers=auth(token)))


async def test_resolving_without_a_public_reply_stops_the_first_response_unanswered(
    sla_rt: tuple[Runtime, httpx.AsyncClient],
) -> None:
    """Only a public reply meets a response clock: claim -> wait on customer -> resolve with nothing sent
    records the first response as stopped without a response, not as met."""
    rt, client = sla_rt
    view = await _claim_wait_resolve(rt, client, note=True)
    assert view["first_response"]["state"] == "unanswered" and view["first_response"]["met_at"] is None
    assert view["resolution"]["state"] == "met"


async def test_the_policies_can_count_a_resolution_as_the_response(settings: Settings, tmp_path: Path) -> None:
    """``responses: [replied, resolved]`` in the SLA file: resolving answers the response clocks too."""
    async with sla_runtime(settings, tmp_path, {}, "responses: [replied, resolved]\n" + POLICIES) as (rt, client):
        view = await _claim_wait_resolve(rt, client, note=False)
    assert view["first_response"]["state"] == "met" and view["first_response"]["met_at"] is not None
