"""No ticket waits in self-service for ever: the shipped SLA file gives every tier-0 ticket, whatever its
customer tier and however it got there, the ``self-service`` policy, whose breach escalates it to tier 1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import time_machine
from sqlmodel import col, select

from queues.runtime import Runtime
from router.models.tickets import OPEN_STATUSES, Ticket
from router.settings import SLA_POLICIES_DEFAULT
from rules.sla import load_sla_policies
from tests.conftest import auth, make_agent, make_customer
from tests.sla.conftest import clocks, fire_timers, routed, trail

#: A Tuesday at 10:00 in Berlin: business hours, so no rule pins the on-call policy.
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
HOW_TO = {"subject": "How do I export my invoices?", "body": "Where is the export?"}


def test_the_shipped_file_sends_every_tier_0_ticket_to_self_service() -> None:
    policies = load_sla_policies(SLA_POLICIES_DEFAULT)
    policy = policies.policies["self-service"]
    assert "escalate" in policy.on_breach and policy.calendar_name == "24x7"
    for customer_tier in (1, 2, 3, 4):
        for priority in ("low", "normal", "high", "urgent"):
            chosen = policies.select(pinned=None, support_tier=0, customer_tier=customer_tier, priority=priority)
            assert chosen.name == "self-service"
        assert policies.select(pinned=None, support_tier=1, customer_tier=customer_tier, priority="normal").name != (
            "self-service"
        )


async def _down_to_0(client: httpx.AsyncClient, token: str, ticket_id: int) -> None:
    body = {"reason": "self-service first", "to_tier": 0}
    r = await client.post(f"/api/v1/tickets/{ticket_id}/deescalate", json=body, headers=auth(token))
    assert r.status_code == 200 and r.json()["support_tier"] == 0, r.text


async def _tier(client: httpx.AsyncClient, token: str, ticket_id: int) -> int:
    return int((await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))).json()["support_tier"])


async def _stuck(runtime: Runtime, limit: timedelta) -> list[str]:
    """Open tier-0 tickets that have been in tier 0 longer than ``limit``."""
    since = datetime.now(UTC) - limit
    async with runtime.app.sessionmaker() as s:
        query = select(Ticket.ref).where(
            Ticket.support_tier == 0, col(Ticket.status).in_(OPEN_STATUSES), col(Ticket.queued_at) < since
        )
        return [str(ref) for ref in (await s.exec(query)).all()]


async def test_no_tier_0_ticket_is_older_than_the_policy_limit(runtime: Runtime, client: httpx.AsyncClient) -> None:
    limit = timedelta(seconds=load_sla_policies(SLA_POLICIES_DEFAULT).policies["self-service"].targets["resolution"])
    _, lead = await make_agent(runtime, role="lead", tiers=())
    for tier in (1, 2, 4):
        await make_customer(runtime, ref=f"c{tier}", tier=tier, domain=f"c{tier}.example")
    with time_machine.travel(START, tick=True) as clock:
        # Straight to tier 0 (the rulebook: how-to questions of break-even and money-losing customers) ...
        direct = [
            await routed(runtime, client, lead, requester_email=email, **HOW_TO)
            for email in ("kim@c4.example", "kim@unknown.example")
        ]
        # ... and sent down by a lead from tier 1, under policies that would run on (``continue``), one of
        # them (basic, money-losing) without an escalation of its own.
        sent_down = []
        for email in ("kim@c1.example", "kim@c2.example", "kim@unknown.example", "kim@c4.example"):
            tid = await routed(runtime, client, lead, requester_email=email)  # an invoice question: tier 1
            await _down_to_0(client, lead, tid)
            sent_down.append(tid)
        everyone = direct + sent_down
        for tid in everyone:
            shown = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()
            assert shown["support_tier"] == 0 and shown["sla"]["policy"] == "self-service", shown
        assert {(await clocks(runtime, tid))["resolution"].policy for tid in everyone} == {"self-service"}

        clock.shift(limit * 0.8)
        await fire_timers(runtime)  # warnings only
        assert await _stuck(runtime, limit) == []
        assert [await _tier(client, lead, tid) for tid in everyone] == [0] * len(everyone)

        clock.shift(limit * 0.2 + timedelta(seconds=30))
        await fire_timers(runtime)
        assert await _stuck(runtime, limit) == []
        for tid in everyone:
            shown = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()
            assert (shown["support_tier"], shown["status"]) == (1, "queued"), shown
            assert shown["sla"]["policy"] != "self-service"  # tier 1's own policy, with fresh clocks
            escalations = [e for e in await trail(runtime, tid) if e.action == "escalated"]
            assert [(e.actor, e.from_tier, e.to_tier, e.data["cause"]) for e in escalations] == [("sla", 0, 1, "sla")]
