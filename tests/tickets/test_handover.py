"""Taking and handing over (issue 17 item 4): take a particular ticket, release it to its original place,
assign, priority and tags, through the API; the tier queue in Redis stays what the database rebuilds."""

from __future__ import annotations

import asyncio

import httpx
from sqlmodel import col, select

from queues.reconcile import rebuild_tier_queues
from queues.runtime import Runtime
from router.models.audit import AuditEvent
from router.models.tickets import Status
from tests.conftest import auth, make_agent, redis_snapshot
from tests.web.helpers import load, open_ticket


async def _actions(runtime: Runtime, ticket_id: int) -> list[AuditEvent]:
    async with runtime.app.sessionmaker() as s:
        rows = await s.exec(select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(col(AuditEvent.seq)))
        return list(rows.all())


async def _queue(runtime: Runtime, tier: int = 1) -> list[int]:
    return await runtime.app.tier_queue.page(tier, 0, 100)


async def _rebuilt_from_the_database(runtime: Runtime) -> None:
    """What Redis holds now is exactly what reconcile makes of the database."""
    held = await redis_snapshot(runtime.pool)
    await runtime.pool.flushdb()
    await rebuild_tier_queues(runtime.app, runtime.app.tier_queue)  # type: ignore[arg-type]
    assert await redis_snapshot(runtime.pool) == held


async def test_take_a_particular_ticket_and_release_it_to_its_place(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    head = await open_ticket(runtime, subject="head", priority="urgent")
    middle = await open_ticket(runtime, subject="middle")
    tail = await open_ticket(runtime, subject="tail", priority="low")
    agent, token = await make_agent(runtime, tiers=(1,))
    before = await redis_snapshot(runtime.pool)
    assert await _queue(runtime) == [head, middle, tail]

    r = await client.post(f"/api/v1/tickets/{middle}/take", headers=auth(token))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["assignee_id"]) == ("in_progress", agent.id)
    assert await _queue(runtime) == [head, tail]
    await _rebuilt_from_the_database(runtime)
    taken = (await _actions(runtime, middle))[-1]
    assert (taken.action, taken.actor, taken.data) == ("claimed", f"agent:{agent.id}", {"taken": True})

    _, other = await make_agent(runtime, tiers=(1,))
    again = await client.post(f"/api/v1/tickets/{middle}/take", headers=auth(other))
    assert again.status_code == 409 and "cannot be taken" in again.json()["detail"]
    refused = await client.post(f"/api/v1/tickets/{middle}/release", json={}, headers=auth(other))
    assert refused.status_code == 403 and "not assigned to you" in refused.json()["detail"]

    r = await client.post(f"/api/v1/tickets/{middle}/release", json={"reason": "wrong skills"}, headers=auth(token))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["assignee_id"]) == ("queued", None)
    assert await _queue(runtime) == [head, middle, tail]
    assert await redis_snapshot(runtime.pool) == before  # the very same score: its original place
    await _rebuilt_from_the_database(runtime)
    released = (await _actions(runtime, middle))[-1]
    assert (released.action, released.reason, released.data) == ("released", "wrong skills", {"from_agent": agent.id})
    # Claim next still takes the head, then the released ticket.
    claimed = await client.post("/api/v1/queues/1/claim", headers=auth(other))
    assert claimed.json()["id"] == head
    assert (await client.post("/api/v1/queues/1/claim", headers=auth(other))).json()["id"] == middle


async def test_an_agent_never_takes_or_changes_a_ticket_of_another_tier(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ticket_id = await open_ticket(runtime, tier=2)
    _, token = await make_agent(runtime, tiers=(1,))
    lead, lead_token = await make_agent(runtime, role="lead", tiers=())
    for path, body in [
        ("take", None),
        ("release", {}),
        ("priority", {"priority": "high"}),
        ("tags", {"add": ["vip"]}),
        ("assign", {"agent_id": lead.id, "reason": "x"}),
    ]:
        r = await client.post(f"/api/v1/tickets/{ticket_id}/{path}", json=body, headers=auth(token))
        assert r.status_code == 403, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    ticket = await load(runtime, ticket_id)
    assert (ticket.status, ticket.priority, ticket.tags, ticket.assignee_id) == (Status.queued, "normal", [], None)
    assert await _queue(runtime, 2) == [ticket_id]
    assert (await client.post(f"/api/v1/tickets/{ticket_id}/take", headers=auth(lead_token))).status_code == 200
    unrouted = await open_ticket(runtime, tier=None)  # read by every agent, changed by leads only
    r = await client.post(f"/api/v1/tickets/{unrouted}/tags", json={"add": ["x"]}, headers=auth(token))
    assert r.status_code == 403 and "not been routed" in r.json()["detail"]


async def test_the_tiers_take_policy_decides_who_may_take(runtime: Runtime, client: httpx.AsyncClient) -> None:
    runtime.app.settings = runtime.app.settings.model_copy(
        update={"take_policy": ["agents", "leads", "nobody", "agents", "agents"]}
    )
    in_zero, in_one, in_two = [await open_ticket(runtime, tier=t) for t in (0, 1, 2)]
    _, agent = await make_agent(runtime, tiers=(0, 1, 2))
    _, lead = await make_agent(runtime, role="lead", tiers=())
    assert (await client.post(f"/api/v1/tickets/{in_zero}/take", headers=auth(agent))).status_code == 200
    r = await client.post(f"/api/v1/tickets/{in_one}/take", headers=auth(agent))
    assert r.status_code == 403 and "only leads and admins may take" in r.json()["detail"]
    assert (await client.post(f"/api/v1/tickets/{in_one}/take", headers=auth(lead))).status_code == 200
    r = await client.post(f"/api/v1/tickets/{in_two}/take", headers=auth(lead))
    assert r.status_code == 403 and "nobody may take" in r.json()["detail"]
    claimed = await client.post("/api/v1/queues/2/claim", headers=auth(agent))  # claim next still works
    assert claimed.status_code == 200 and claimed.json()["id"] == in_two


async def test_leads_assign_and_release_anyones_ticket(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime)
    tess, tess_token = await make_agent(runtime, tiers=(1,))
    frank, _ = await make_agent(runtime, tiers=(3,))
    _, lead = await make_agent(runtime, role="lead", tiers=())
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/assign", json={"agent_id": tess.id, "reason": "x"}, headers=auth(tess_token)
    )
    assert r.status_code == 403 and "only leads" in r.json()["detail"]
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/assign", json={"agent_id": frank.id, "reason": "x"}, headers=auth(lead)
    )
    assert r.status_code == 409 and "does not work support tier 1" in r.json()["detail"]
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/assign", json={"agent_id": 99999, "reason": "x"}, headers=auth(lead)
    )
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/assign", json={"agent_id": tess.id, "reason": "knows them"}, headers=auth(lead)
    )
    assert r.status_code == 200 and r.json()["assignee_id"] == tess.id
    assert await _queue(runtime) == []
    await _rebuilt_from_the_database(runtime)
    r = await client.post(f"/api/v1/tickets/{ticket_id}/release", json={"reason": "holiday"}, headers=auth(lead))
    assert r.status_code == 200 and await _queue(runtime) == [ticket_id]
    await _rebuilt_from_the_database(runtime)
    assert [e.action for e in await _actions(runtime, ticket_id)][-2:] == ["reassigned", "released"]


async def test_priority_moves_a_queued_ticket_and_tags_change_by_hand(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    first = await open_ticket(runtime, subject="first", priority="high")
    second = await open_ticket(runtime, subject="second")
    _, token = await make_agent(runtime, tiers=(1,))
    assert await _queue(runtime) == [first, second]
    r = await client.post(
        f"/api/v1/tickets/{second}/priority", json={"priority": "urgent", "reason": "outage"}, headers=auth(token)
    )
    assert r.status_code == 200 and r.json()["priority"] == "urgent"
    assert await _queue(runtime) == [second, first]
    await _rebuilt_from_the_database(runtime)
    bad = await client.post(f"/api/v1/tickets/{second}/priority", json={"priority": "asap"}, headers=auth(token))
    assert bad.status_code == 422

    r = await client.post(
        f"/api/v1/tickets/{second}/tags", json={"add": ["VIP", "billing", "vip"]}, headers=auth(token)
    )
    assert r.status_code == 200 and r.json()["tags"] == ["vip", "billing"]
    r = await client.post(
        f"/api/v1/tickets/{second}/tags", json={"add": ["outage"], "remove": ["billing", "nope"]}, headers=auth(token)
    )
    assert r.json()["tags"] == ["vip", "outage"]
    bad = await client.post(f"/api/v1/tickets/{second}/tags", json={"add": ["two words"]}, headers=auth(token))
    assert bad.status_code == 422 and "without spaces" in bad.json()["detail"]
    trail = await _actions(runtime, second)
    assert [(e.action, e.data) for e in trail if e.action in ("priority_changed", "tags_changed")] == [
        ("priority_changed", {"from": "normal", "to": "urgent"}),
        ("tags_changed", {"added": ["vip", "billing"], "removed": []}),
        ("tags_changed", {"added": ["outage"], "removed": ["billing"]}),
    ]


async def test_take_and_claim_next_racing_for_one_ticket_give_it_to_one_agent(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    for _ in range(5):
        ticket_id = await open_ticket(runtime)
        (taker, taker_token), (claimer, claimer_token) = await make_agent(runtime), await make_agent(runtime)
        took, claimed = await asyncio.gather(
            client.post(f"/api/v1/tickets/{ticket_id}/take", headers=auth(taker_token)),
            client.post("/api/v1/queues/1/claim", headers=auth(claimer_token)),
        )
        winners = [a.id for a, r in ((taker, took), (claimer, claimed)) if r.status_code == 200]
        assert len(winners) == 1, (took.text, claimed.status_code)
        assert {took.status_code, claimed.status_code} in ({200, 204}, {200, 409})
        assert (await load(runtime, ticket_id)).assignee_id == winners[0]
        assert await _queue(runtime) == []
        await _rebuilt_from_the_database(runtime)
