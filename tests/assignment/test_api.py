"""Push assignment over the JSON API: status, an agent's settings, offers answered, the team's load."""

from __future__ import annotations

import httpx

from queues.runtime import Runtime
from router.assignment import assigner
from tests.assignment.helpers import agent, push, queued
from tests.conftest import auth, make_agent


async def test_status_settings_offers_and_team(runtime: Runtime, client: httpx.AsyncClient) -> None:
    push(runtime, "least_loaded")
    me, token = await agent(runtime, status="offline")
    _, lead = await make_agent(runtime, role="lead", tiers=())
    r = await client.put("/api/v1/agents/me/status", json={"status": "available"}, headers=auth(token))
    assert r.status_code == 200 and r.json()["status"] == "available"
    r = await client.put("/api/v1/agents/me/status", json={"status": "asleep"}, headers=auth(token))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.patch(
        f"/api/v1/agents/{me.id}",
        json={"max_open": {"1": 2}, "skills": ["Billing", "de"], "shift_calendar": "24x7"},
        headers=auth(lead),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["max_open"], r.json()["skills"], r.json()["shift_calendar"]) == (
        {"1": 2},
        ["billing", "de"],
        "24x7",
    )
    r = await client.patch(f"/api/v1/agents/{me.id}", json={"shift_calendar": "moon"}, headers=auth(lead))
    assert r.status_code == 422 and "unknown calendar" in r.json()["detail"]

    ids = await queued(runtime, 3)

    assert await assigner.run_tier(runtime.app, 1) == 2  # the cap
    offers = (await client.get("/api/v1/offers", headers=auth(token))).json()
    assert [o["ticket_id"] for o in offers] == ids[:2]
    r = await client.post(f"/api/v1/tickets/{ids[0]}/offer/accept", headers=auth(token))
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    r = await client.post(f"/api/v1/tickets/{ids[1]}/offer/decline", headers=auth(token))
    assert r.status_code == 204
    r = await client.post(f"/api/v1/tickets/{ids[1]}/offer/accept", headers=auth(token))
    assert r.status_code == 404
    team = (await client.get("/api/v1/team", headers=auth(lead))).json()
    mine = next(m for m in team if m["id"] == me.id)
    assert mine["status"] == "available" and mine["load"] == [{"tier": 1, "open": 1, "max_open": 2}]
    assert (await client.get("/api/v1/team", headers=auth(token))).status_code == 403


async def test_the_account_owner_gets_their_customers_tickets(runtime: Runtime, client: httpx.AsyncClient) -> None:
    from sqlmodel import select

    from router.models.assignment import AssignmentOffer
    from router.models.tickets import Ticket
    from tests.conftest import make_customer

    push(runtime, "round_robin")
    await agent(runtime)
    owner, _ = await agent(runtime)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    customer = await make_customer(runtime, ref="acme", tier=2, domain="acme.example")
    r = await client.patch(f"/api/v1/customers/{customer.id}", json={"account_owner_id": 999}, headers=auth(lead))
    assert r.status_code == 422
    r = await client.patch(f"/api/v1/customers/{customer.id}", json={"account_owner_id": owner.id}, headers=auth(lead))
    assert r.status_code == 200 and r.json()["account_owner_id"] == owner.id
    ids = await queued(runtime, 3)
    async with runtime.app.sessionmaker() as s:
        for t in (await s.exec(select(Ticket))).all():
            t.customer_id = customer.id
        await s.commit()
    assert await assigner.run_tier(runtime.app, 1) == 3
    async with runtime.app.sessionmaker() as s:
        offers = (await s.exec(select(AssignmentOffer))).all()
    assert {o.agent_id for o in offers} == {owner.id} and {o.ticket_id for o in offers} == set(ids)
    assert {o.reason for o in offers} == {"account owner"}


async def test_the_team_answers_while_redis_is_away(runtime: Runtime, client: httpx.AsyncClient) -> None:
    """Presence is unknown then (nobody counts as gone), never a 500."""
    from redis.asyncio import Redis

    from queues.live_bus import RedisLiveBus

    await agent(runtime)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    away = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        runtime.app.live = RedisLiveBus(away)
        r = await client.get("/api/v1/team", headers=auth(lead))
        assert r.status_code == 200, r.text
        assert len(r.json()) == 2
    finally:
        await away.aclose()
