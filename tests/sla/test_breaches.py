"""Warnings and breaches under a controlled clock: the chain 1 -> 2 -> 3 -> 4, a duplicated timer job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import time_machine

from queues.dispatch import enqueue
from queues.names import SLA_TIMERS, tier_queue_key
from queues.runtime import Runtime
from queues.worker import drain
from router.effects import sla_check_job
from router.sla.service import member_of
from tests.conftest import make_agent, make_customer
from tests.sla.conftest import clocks, fire_timers, outbox, routed, trail

#: A Tuesday at 10:00 in Berlin: business hours, so the rulebook does not pin its on-call policy.
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def test_breaches_escalate_tier_by_tier_and_stop_at_four(sla_rt: tuple[Runtime, httpx.AsyncClient]) -> None:
    rt, client = sla_rt
    _, lead = await make_agent(rt, role="lead", tiers=())
    with time_machine.travel(START, tick=True) as clock:
        tid = await routed(rt, client, lead)
        first = (await clocks(rt, tid))["first_response"]
        assert (first.policy, first.support_tier, first.state) == ("chain", 1, "ok")
        assert first.due_at is not None and abs(first.due_at - (START + timedelta(minutes=10))) < timedelta(seconds=5)
        assert await fire_timers(rt) == 0  # nothing due yet

        clock.shift(timedelta(minutes=6))  # past 50 %: a warning, no breach
        assert await fire_timers(rt) == 1
        assert (await clocks(rt, tid))["first_response"].state == "warning"
        assert "sla.warning" in await outbox(rt, tid)

        tiers = []
        for _ in range(4):
            clock.shift(timedelta(minutes=11))
            await fire_timers(rt)
            tiers.append(
                (await client.get(f"/api/v1/tickets/{tid}", headers={"Authorization": f"Bearer {lead}"})).json()[
                    "support_tier"
                ]
            )
        assert tiers == [2, 3, 4, 4]

    events = await trail(rt, tid)
    escalations = [(e.actor, e.from_tier, e.to_tier, e.data["cause"]) for e in events if e.action == "escalated"]
    assert escalations == [("sla", 1, 2, "sla"), ("sla", 2, 3, "sla"), ("sla", 3, 4, "sla")]
    breaches = [e for e in events if e.action == "sla_breached"]
    assert [e.to_tier for e in breaches if e.data["kind"] == "first_response"] == [1, 2, 3, 4]
    assert all(e.actor == "sla" for e in breaches)
    assert [e.to_tier for e in events if e.action == "lead_notified"][:4] == [1, 2, 3, 4]
    skipped = [e for e in events if e.action == "sla_escalation_skipped"]
    assert skipped and skipped[0].reason == "already at tier 4"
    # The resolution clock restarted with each tier (policy: restart) and kept the total.
    resolution = (await clocks(rt, tid))["resolution"]
    assert resolution.support_tier == 4 and resolution.total_seconds > resolution.consumed_seconds
    assert (await outbox(rt, tid)).count("sla.breached") >= 4
    verify = await client.get(f"/api/v1/tickets/{tid}/audit/verify", headers={"Authorization": f"Bearer {lead}"})
    assert verify.json()["valid"] is True


async def test_a_breach_never_hands_a_ticket_to_the_vendor_unless_the_policy_says_so(
    in_house_sla_rt: tuple[Runtime, httpx.AsyncClient],
) -> None:
    """With ``escalate`` alone (the shipped policies), breaches climb 1 -> 2 -> 3 and stop there: tier 4 is an
    outside vendor. At tier 3 a breach is recorded as a skipped escalation, with its reason, and raises the
    priority instead; no vendor handoff is published."""
    rt, client = in_house_sla_rt
    _, lead = await make_agent(rt, role="lead", tiers=())
    with time_machine.travel(START, tick=True) as clock:
        tid = await routed(rt, client, lead)
        assert (await clocks(rt, tid))["first_response"].policy == "chain"
        tiers = []
        for _ in range(4):
            clock.shift(timedelta(minutes=11))
            await fire_timers(rt)
            ticket = (await client.get(f"/api/v1/tickets/{tid}", headers={"Authorization": f"Bearer {lead}"})).json()
            tiers.append(ticket["support_tier"])
        assert tiers == [2, 3, 3, 3]
    events = await trail(rt, tid)
    skipped = [e for e in events if e.action == "sla_escalation_skipped"]
    assert skipped and all(e.to_tier == 3 and "escalate_to_vendor" in (e.reason or "") for e in skipped)
    assert [e.data["to"] for e in events if e.action == "priority_raised"][:1] == ["high"]
    assert "ticket.vendor_handoff" not in await outbox(rt, tid)


async def test_a_duplicated_timer_job_acts_once(sla_rt: tuple[Runtime, httpx.AsyncClient]) -> None:
    rt, client = sla_rt
    _, lead = await make_agent(rt, role="lead", tiers=())
    with time_machine.travel(START, tick=True) as clock:
        tid = await routed(rt, client, lead)
        clock.shift(timedelta(minutes=11))  # warning and breach both due
        first = (await clocks(rt, tid))["first_response"]
        member = member_of(first)
        assert await rt.pool.zscore(SLA_TIMERS, member) is not None
        # The same timer delivered twice: claimed by the ticker, and enqueued again by hand after it ran.
        await fire_timers(rt)
        assert await enqueue(rt.pool, sla_check_job(member))
        await drain(rt)
        # and a third time straight through the job function, as a redelivery would
        from queues.jobs import check_sla

        assert await check_sla({"app": rt.app}, tid, "first_response", first.generation) == "stale"

    events = await trail(rt, tid)
    assert [e.action for e in events].count("escalated") == 1
    assert [e.action for e in events if e.action == "sla_breached" and e.data["kind"] == "first_response"] == [
        "sla_breached"
    ]
    assert (await outbox(rt, tid)).count("sla.breached") == 1


async def test_a_breach_can_raise_priority_and_notify_the_lead_without_escalating(
    sla_rt: tuple[Runtime, httpx.AsyncClient],
) -> None:
    """The "office" policy's actions: notify_lead, raise_priority (a queued ticket moves up its queue)."""
    rt, client = sla_rt
    _, lead = await make_agent(rt, role="lead", tiers=())
    await make_customer(rt, ref="acme", tier=2, domain="acme.example")
    with time_machine.travel(START, tick=False) as clock:  # Tuesday 10:00 Berlin; first response due 12:00
        tid = await routed(rt, client, lead, requester_email="pat@acme.example")
        score_before = await rt.pool.zscore(tier_queue_key(1), str(tid))
        clock.shift(timedelta(hours=2, minutes=1))
        await fire_timers(rt)
        ticket = (await client.get(f"/api/v1/tickets/{tid}", headers={"Authorization": f"Bearer {lead}"})).json()
        assert (ticket["support_tier"], ticket["priority"], ticket["sla"]["state"]) == (1, "high", "breached")
        assert await rt.pool.zscore(tier_queue_key(1), str(tid)) < score_before  # claimed sooner now

    actions = [(e.actor, e.action) for e in await trail(rt, tid) if e.actor == "sla"]
    assert actions == [
        ("sla", "sla_warning"),
        ("sla", "sla_breached"),
        ("sla", "lead_notified"),
        ("sla", "priority_raised"),
    ]
