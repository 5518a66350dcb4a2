"""A ticket's whole path over HTTP and real workers: intake, routing, tier queue, claim, escalate,
resolve, reopen, audit — on SQLite and PostgreSQL with real Redis."""

from __future__ import annotations

import itertools

import httpx
from sqlmodel import select

from queues.names import tier_queue_key
from queues.runtime import Runtime
from queues.worker import drain
from router.models.tickets import Message
from tests.conftest import auth, make_agent, make_customer, ticket_json


async def queue_members(runtime: Runtime, tier: int) -> list[int]:
    return [int(m) for m in await runtime.pool.zrange(tier_queue_key(tier), 0, -1)]


async def test_ticket_travels_from_intake_to_resolution(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await make_customer(runtime, ref="acme", tier=2, domain="acme.example")
    _, frontline = await make_agent(runtime, tiers=(1,))
    _, technical = await make_agent(runtime, tiers=(2,))

    accepted = await client.post(
        "/api/v1/tickets",
        json=ticket_json(
            subject="Dashboard question", body="Where is the export button?", requester_email="kim@acme.example"
        ),
        headers=auth(frontline),
    )
    assert accepted.status_code == 202, accepted.text
    ticket_id = accepted.json()["id"]
    assert accepted.json()["ref"] == f"T-{ticket_id:06d}"
    assert accepted.json()["status"] == "queued"  # routed in the intake transaction

    await drain(runtime)

    ticket = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(frontline))).json()
    assert ticket["status"] == "queued"
    assert ticket["support_tier"] == 1
    assert ticket["customer_tier"] == 2
    assert ticket["decision"]["rulebook_version"]
    assert await queue_members(runtime, 1) == [ticket_id]
    acknowledgement = [m for m in ticket["messages"] if m["kind"] == "acknowledgement"]
    assert len(acknowledgement) == 1
    assert ticket["ref"] in acknowledgement[0]["body_text"]

    claimed = await client.post("/api/v1/queues/1/claim", headers=auth(frontline))
    assert claimed.status_code == 200
    assert claimed.json()["id"] == ticket_id
    assert claimed.json()["status"] == "in_progress"
    assert await queue_members(runtime, 1) == []

    escalated = await client.post(
        f"/api/v1/tickets/{ticket_id}/escalate", json={"reason": "needs log analysis"}, headers=auth(frontline)
    )
    assert escalated.status_code == 200, escalated.text
    assert escalated.json()["support_tier"] == 2
    assert escalated.json()["status"] == "queued"
    assert escalated.json()["assignee_id"] is None
    assert await queue_members(runtime, 2) == [ticket_id]
    await drain(runtime)  # tier 2 automation: the ticket was acknowledged once already, no notice by default

    # The frontline agent no longer works this ticket's tier.
    assert (
        await client.post(f"/api/v1/tickets/{ticket_id}/resolve", json={}, headers=auth(frontline))
    ).status_code == 403

    assert (await client.post("/api/v1/queues/2/claim", headers=auth(technical))).json()["id"] == ticket_id
    resolved = await client.post(
        f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": "export moved to settings"}, headers=auth(technical)
    )
    assert resolved.json()["status"] == "resolved"

    reopened = await client.post(
        f"/api/v1/tickets/{ticket_id}/reopen", json={"reason": "still missing"}, headers=auth(technical)
    )
    assert reopened.json()["status"] == "queued"
    assert reopened.json()["reopen_count"] == 1
    assert await queue_members(runtime, 2) == [ticket_id]

    trail = (await client.get(f"/api/v1/tickets/{ticket_id}/audit", headers=auth(technical))).json()
    assert [e["action"] for e in trail] == [
        "created",
        "routed",
        "automation",
        "claimed",
        "escalated",
        "claimed",
        "resolved",
        "reopened",
    ]
    escalation = trail[4]
    assert (escalation["from_tier"], escalation["to_tier"], escalation["reason"]) == (1, 2, "needs log analysis")
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(trail))
    verify = (await client.get(f"/api/v1/tickets/{ticket_id}/audit/verify", headers=auth(technical))).json()
    assert verify == {
        "ticket_id": ticket_id,
        "valid": True,
        "events": 8,
        "broken_at_seq": None,
        "problem": None,
        "legacy_events": 0,
    }


async def test_tier_automation_runs_once_per_tier(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    ticket_id = (
        await client.post(
            "/api/v1/tickets",
            json=ticket_json(subject="How do I reset my password?", body="how to reset"),
            headers=auth(lead),
        )
    ).json()["id"]
    await drain(runtime)
    # A duplicated delivery of the automation job must not add a second acknowledgement.
    from queues.dispatch import enqueue
    from router.effects import automation_job

    await runtime.pool.delete(f"arq:job:automate:{ticket_id}:0")
    assert await enqueue(runtime.pool, automation_job(ticket_id, 0))
    await drain(runtime)
    async with runtime.app.sessionmaker() as s:
        acks = (
            await s.exec(select(Message).where(Message.ticket_id == ticket_id, Message.kind == "acknowledgement"))
        ).all()
    assert len(acks) == 1
    assert "self-service" in acks[0].body_text
