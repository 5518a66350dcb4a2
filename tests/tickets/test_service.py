"""The ticket service's rules: escalation bounds, de-escalation for leads, resolve/reopen states, permissions."""

from __future__ import annotations

import httpx
import pytest

from queues.runtime import Runtime
from queues.worker import drain
from tests.conftest import auth, make_agent, ticket_json


async def routed_ticket(runtime: Runtime, client: httpx.AsyncClient, token: str, **fields: str) -> int:
    r = await client.post("/api/v1/tickets", json=ticket_json(**fields), headers=auth(token))
    await drain(runtime)
    return int(r.json()["id"])


async def test_escalate_to_a_chosen_tier_and_never_past_four(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await routed_ticket(runtime, client, lead, subject="Account settings", body="question")
    jump = await client.post(
        f"/api/v1/tickets/{tid}/escalate", json={"reason": "vendor bug", "to_tier": 4}, headers=auth(lead)
    )
    assert jump.status_code == 200 and jump.json()["support_tier"] == 4
    past = await client.post(f"/api/v1/tickets/{tid}/escalate", json={"reason": "more"}, headers=auth(lead))
    assert past.status_code == 409
    assert past.headers["content-type"] == "application/problem+json"
    assert "tier 4" in past.json()["detail"]
    assert (
        await client.post(f"/api/v1/tickets/{tid}/escalate", json={"reason": "x", "to_tier": 5}, headers=auth(lead))
    ).status_code == 422
    trail = (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()
    assert [e["action"] for e in trail].count("escalated") == 1


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
async def test_escalation_needs_a_reason(runtime: Runtime, client: httpx.AsyncClient, body: dict[str, str]) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await routed_ticket(runtime, client, lead)
    r = await client.post(f"/api/v1/tickets/{tid}/escalate", json=body, headers=auth(lead))
    assert r.status_code == 422
    assert "body.reason" in r.json()["detail"]


async def test_escalating_downwards_or_sideways_is_a_conflict(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await routed_ticket(runtime, client, lead)  # default body says "error": tier 2
    for to_tier in (1, 2):
        r = await client.post(
            f"/api/v1/tickets/{tid}/escalate", json={"reason": "r", "to_tier": to_tier}, headers=auth(lead)
        )
        assert r.status_code == 409


async def test_only_leads_deescalate_and_only_downwards(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    _, technical = await make_agent(runtime, tiers=(2,))
    tid = await routed_ticket(runtime, client, lead)
    by_agent = await client.post(
        f"/api/v1/tickets/{tid}/deescalate", json={"reason": "simple"}, headers=auth(technical)
    )
    assert by_agent.status_code == 403
    up = await client.post(f"/api/v1/tickets/{tid}/deescalate", json={"reason": "r", "to_tier": 3}, headers=auth(lead))
    assert up.status_code == 409
    down = await client.post(f"/api/v1/tickets/{tid}/deescalate", json={"reason": "a how-to"}, headers=auth(lead))
    assert down.status_code == 200 and down.json()["support_tier"] == 1
    assert await runtime.app.tier_queue.page(1, 0, 5) == [tid]
    assert await runtime.app.tier_queue.depth(2) == 0
    last = (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()[-1]
    assert (last["action"], last["from_tier"], last["to_tier"], last["reason"]) == ("deescalated", 2, 1, "a how-to")


async def test_resolve_and_reopen_follow_the_status(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await routed_ticket(runtime, client, lead)
    assert (await client.post(f"/api/v1/tickets/{tid}/reopen", json={}, headers=auth(lead))).status_code == 409
    resolved = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"resolution": "fixed"}, headers=auth(lead))
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolved_at"]
    assert await runtime.app.tier_queue.depth(2) == 0
    assert (await client.post(f"/api/v1/tickets/{tid}/resolve", json={}, headers=auth(lead))).status_code == 409
    assert (
        await client.post(f"/api/v1/tickets/{tid}/escalate", json={"reason": "r"}, headers=auth(lead))
    ).status_code == 409
    assert (await client.post(f"/api/v1/tickets/{tid}/reopen", json={}, headers=auth(lead))).status_code == 200
    assert await runtime.app.tier_queue.page(2, 0, 5) == [tid]


async def test_agents_see_and_touch_only_their_tiers(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    _, frontline = await make_agent(runtime, tiers=(1,))
    tid = await routed_ticket(runtime, client, lead)  # tier 2
    assert (await client.get(f"/api/v1/tickets/{tid}", headers=auth(frontline))).status_code == 403
    assert (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(frontline))).status_code == 403
    r = await client.post(f"/api/v1/tickets/{tid}/escalate", json={"reason": "r"}, headers=auth(frontline))
    assert r.status_code == 403
    listing = (await client.get("/api/v1/tickets", headers=auth(frontline))).json()
    assert listing["total"] == 0
    assert (await client.get("/api/v1/tickets", headers=auth(lead))).json()["total"] == 1
    assert (await client.get("/api/v1/tickets/999999", headers=auth(lead))).status_code == 404


async def test_replies_and_notes_are_recorded_and_audited(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await routed_ticket(runtime, client, lead)
    reply = await client.post(f"/api/v1/tickets/{tid}/messages", json={"body": "Try again now"}, headers=auth(lead))
    note = await client.post(
        f"/api/v1/tickets/{tid}/messages", json={"body": "customer is grumpy", "internal": True}, headers=auth(lead)
    )
    assert (
        reply.status_code == 201
        and reply.json()["direction"] == "outbound"
        and reply.json()["delivery_status"] == "pending"
    )
    assert note.json()["direction"] == "note" and note.json()["delivery_status"] is None
    actions = [e["action"] for e in (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()]
    assert actions[-2:] == ["replied", "note_added"]


async def test_waiting_on_the_customer_leaves_the_queue_until_they_reply(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    from router.intake import email_service
    from router.tickets.service import Actor
    from router.unit_of_work import commit

    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await routed_ticket(runtime, client, lead)
    tier = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()["support_tier"]
    r = await client.post(f"/api/v1/tickets/{tid}/wait", json={"reason": "asked for logs"}, headers=auth(lead))
    assert r.status_code == 200 and r.json()["status"] == "waiting_on_customer"
    assert str(tid).encode() not in await runtime.pool.zrange(f"tierroute:queue:{tier}", 0, -1)
    again = await client.post(f"/api/v1/tickets/{tid}/wait", json={}, headers=auth(lead))
    assert again.status_code == 409
    ref = r.json()["ref"]
    raw = (
        f"From: pat@customer.example\r\nTo: support@example.com\r\nSubject: Re: [{ref}] Cannot log in\r\n"
        f"Message-ID: <reply-{tid}@customer.example>\r\n\r\nHere are the logs.\r\n"
    ).encode()
    async with runtime.app.sessionmaker() as s:
        await email_service.ingest(
            s,
            runtime.app.effects,
            raw,
            settings=runtime.app.settings,
            store=runtime.app.blobs,
            source="email:test",
            actor=Actor.system(),
        )
        await commit(s, runtime.app.effects)
    back = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()
    assert back["status"] == "queued"
    assert str(tid).encode() in await runtime.pool.zrange(f"tierroute:queue:{tier}", 0, -1)
    actions = [e["action"] for e in (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()]
    assert actions[-3:] == ["waiting_on_customer", "resumed", "customer_replied"]


async def test_state_changes_record_outbox_events_in_their_transaction(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    from sqlmodel import col, select

    from router.models.events import OutboxEvent

    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await routed_ticket(runtime, client, lead)
    await client.post(f"/api/v1/tickets/{tid}/escalate", json={"reason": "deep bug"}, headers=auth(lead))
    await client.post(f"/api/v1/tickets/{tid}/resolve", json={}, headers=auth(lead))
    await client.post(f"/api/v1/tickets/{tid}/escalate", json={"reason": "too late"}, headers=auth(lead))  # 409
    async with runtime.app.sessionmaker() as s:
        rows = (
            await s.exec(select(OutboxEvent).where(OutboxEvent.ticket_id == tid).order_by(col(OutboxEvent.created_at)))
        ).all()
    assert [e.type for e in rows] == ["ticket.created", "ticket.routed", "ticket.escalated", "ticket.resolved"]
    assert rows[2].data["cause"] == "agent" and rows[2].data["reason"] == "deep bug"


async def test_reassign_is_for_leads_and_keeps_a_waiting_ticket_waiting(runtime: Runtime) -> None:
    from router.audit import service as audit
    from router.errors import Conflict, Forbidden
    from router.models.tickets import Status
    from router.tickets import service as tickets
    from router.unit_of_work import commit
    from tests.web.helpers import open_ticket, web_agent

    ticket_id = await open_ticket(runtime, tier=2)
    tess = await web_agent(runtime, tiers=(2,))
    other = await web_agent(runtime, tiers=(2,))
    lead = await web_agent(runtime, role="lead", tiers=())
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.get(s, ticket_id, lock=True)
        with pytest.raises(Forbidden):
            await tickets.reassign(s, ticket, tickets.Actor.of(tess), tess, reason="mine")
        await tickets.wait_on_customer(s, ticket, tickets.Actor.of(lead), reason="logs")
        await tickets.reassign(s, ticket, tickets.Actor.of(lead), tess, reason="knows the customer")
        assert (ticket.status, ticket.assignee_id) == (Status.waiting_on_customer, tess.id)
        with pytest.raises(Conflict):
            await tickets.reassign(s, ticket, tickets.Actor.of(lead), tess, reason="again")
        await tickets.reassign(s, ticket, tickets.Actor.of(lead), other, reason="holiday")
        await commit(s, runtime.app.effects)
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.get(s, ticket_id)
        trail = await audit.events(s, ticket_id)
        assert [e.data for e in trail if e.action == "reassigned"] == [
            {"from_agent": None, "to_agent": tess.id},
            {"from_agent": tess.id, "to_agent": other.id},
        ]
        assert (await audit.verify_ticket(s, ticket)).valid
