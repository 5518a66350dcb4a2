"""Tier queues: claim order, atomic claims under concurrency, permissions, empty queue, listing."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import httpx
from sqlmodel import col, func, select

from queues.runtime import Runtime
from queues.worker import drain
from router.models.audit import AuditEvent
from router.models.columns import utcnow
from router.models.tickets import Ticket
from router.tierqueues.ordering import queue_score
from tests.conftest import auth, make_agent, make_customer, ticket_json


def test_score_orders_priority_then_customer_tier_then_age() -> None:
    now = utcnow()
    older = now - timedelta(hours=3)
    ordered = [
        queue_score("urgent", 4, now),
        queue_score("high", 1, now),
        queue_score("high", 2, older),
        queue_score("high", 2, now),
        queue_score("normal", 1, now),
        queue_score("low", 1, older),
    ]
    assert ordered == sorted(ordered)
    assert len(set(ordered)) == len(ordered)


async def test_claim_takes_the_head_in_documented_order(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await make_customer(runtime, ref="partner", tier=1, domain="partner.example")
    await make_customer(runtime, ref="core", tier=2, domain="core.example")
    _, lead = await make_agent(runtime, role="lead", tiers=())
    plan = [
        ("low", "a@core.example"),
        ("normal", "b@core.example"),
        ("normal", "c@partner.example"),
        ("urgent", "d@core.example"),
        ("normal", "e@core.example"),
    ]
    ids = []
    for priority, sender in plan:
        r = await client.post(
            "/api/v1/tickets",
            json=ticket_json(
                subject="Account settings", body="A question about settings", requester_email=sender, priority=priority
            ),
            headers=auth(lead),
        )
        ids.append(r.json()["id"])
    await drain(runtime)
    # strategic partner (tier 1) gets "high" from the default rulebook.
    expected = [ids[3], ids[2], ids[1], ids[4], ids[0]]
    listing = (await client.get("/api/v1/queues/1", headers=auth(lead))).json()
    assert [t["id"] for t in listing["items"]] == expected
    assert listing["total"] == 5
    page2 = (await client.get("/api/v1/queues/1?offset=2&limit=2", headers=auth(lead))).json()
    assert [t["id"] for t in page2["items"]] == expected[2:4]
    claimed = [(await client.post("/api/v1/queues/1/claim", headers=auth(lead))).json()["id"] for _ in ids]
    assert claimed == expected
    empty = await client.post("/api/v1/queues/1/claim", headers=auth(lead))
    assert empty.status_code == 204


async def test_queue_overview_reports_depth_and_oldest_age(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    for _ in range(3):
        await client.post(
            "/api/v1/tickets", json=ticket_json(subject="Account settings", body="question"), headers=auth(lead)
        )
    await drain(runtime)
    overview = (await client.get("/api/v1/queues", headers=auth(lead))).json()
    assert [q["tier"] for q in overview] == [0, 1, 2, 3, 4]
    tier1 = overview[1]
    assert tier1["depth"] == 3 and tier1["name"] == "frontline"
    assert 0 <= tier1["oldest_age_seconds"] < 60
    assert overview[2]["depth"] == 0 and overview[2]["oldest_age_seconds"] is None


async def test_claim_needs_a_token_and_the_tier(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, frontline = await make_agent(runtime, tiers=(1,))
    no_token = await client.post("/api/v1/queues/1/claim")
    assert no_token.status_code == 401
    assert no_token.headers["content-type"] == "application/problem+json"
    assert no_token.headers["www-authenticate"] == "Bearer"
    bad_token = await client.post("/api/v1/queues/1/claim", headers=auth("trt_nope"))
    assert bad_token.status_code == 401
    wrong_tier = await client.post("/api/v1/queues/3/claim", headers=auth(frontline))
    assert wrong_tier.status_code == 403
    assert "tier 3" in wrong_tier.json()["detail"]
    assert (await client.post("/api/v1/queues/7/claim", headers=auth(frontline))).status_code == 422


async def test_fifty_concurrent_claimers_take_each_ticket_exactly_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """Fifty agents race for three tickets each: every claim is a ZPOPMIN contended by the other 49, so
    the race is as tight as with more tickets (500 took two minutes of intake and routing on PostgreSQL,
    none of it the claims under test)."""
    _, lead = await make_agent(runtime, role="lead", tiers=())
    claimers = [await make_agent(runtime, tiers=(1,)) for _ in range(50)]
    total = 150
    await asyncio.gather(
        *(
            client.post(
                "/api/v1/tickets", json=ticket_json(subject=f"Settings {i}", body="question"), headers=auth(lead)
            )
            for i in range(total)
        )
    )
    await drain(runtime)
    assert await runtime.app.tier_queue.depth(1) == total

    async def claim_until_empty(token: str) -> list[int]:
        got = []
        while True:
            r = await client.post("/api/v1/queues/1/claim", headers=auth(token))
            if r.status_code == 204:
                return got
            assert r.status_code == 200, r.text
            got.append(r.json()["id"])

    results = await asyncio.gather(*(claim_until_empty(token) for _, token in claimers))
    claimed = [tid for batch in results for tid in batch]
    assert len(claimed) == total
    assert len(set(claimed)) == total
    async with runtime.app.sessionmaker() as s:
        rows = (await s.exec(select(Ticket.id, Ticket.assignee_id, Ticket.status))).all()
        claim_events = (
            await s.exec(
                select(AuditEvent.ticket_id, func.count())
                .where(AuditEvent.action == "claimed")
                .group_by(col(AuditEvent.ticket_id))
            )
        ).all()
    assert all(status == "in_progress" and assignee is not None for _, assignee, status in rows)
    assert len(claim_events) == total and all(n == 1 for _, n in claim_events)
    owners = {tid: assignee for tid, assignee, _ in rows}
    per_agent = Counter(owners.values())
    by_token = {agent.id: len(batch) for (agent, _), batch in zip(claimers, results, strict=True)}
    assert {k: v for k, v in by_token.items() if v} == dict(per_agent)


async def test_a_claim_by_statement_writes_what_the_orm_claim_writes(runtime: Runtime) -> None:
    """``claiming.claim_queued`` (the fast path of "claim next") and ``service.claim``: the same ticket
    changes and the same ``claimed`` event, chained; a stale entry (claimed already, or another tier) is
    refused by both."""
    from router.audit import service as audit
    from router.tickets import claiming
    from router.tickets import service as tickets
    from router.tickets.inputs import Opened
    from router.tickets.opening import open_batch
    from router.unit_of_work import commit
    from tests.tickets.test_opening import CASES, _item, _plain

    agent, _ = await make_agent(runtime, tiers=(0, 1, 2, 3, 4))
    async with runtime.app.sessionmaker() as s:
        opened = await open_batch(
            s, [_item(CASES[1], n, "api:claim") for n in range(2)], runtime.app.rulebook.current()
        )
        await commit(s, runtime.app.effects)
    by_orm, by_statement = (o.ticket_id for o in opened if isinstance(o, Opened))
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.get(s, by_orm, lock=True)
        tier = ticket.support_tier
        assert tier is not None and await tickets.claim(s, ticket, agent)
        await commit(s, runtime.app.effects)
    async with runtime.app.sessionmaker() as s:
        assert not claiming.needs_clock_changes(s)
        assert not await claiming.claim_queued(s, by_statement, (tier + 1) % 5, agent)  # another tier
        assert await claiming.claim_queued(s, by_statement, tier, agent)
        assert not await claiming.claim_queued(s, by_statement, tier, agent)  # claimed already
        await commit(s, runtime.app.effects)
    async with runtime.app.sessionmaker() as s:
        rows = {}
        for ticket_id in (by_orm, by_statement):
            ticket = await tickets.get(s, ticket_id)
            events = await audit.events(s, ticket_id)
            assert (await audit.verify_ticket(s, ticket)).valid
            rows[ticket_id] = (
                (ticket.status, ticket.assignee_id, ticket.audit_seq),
                _plain([e.model_dump(exclude={"id", "ticket_id", "at", "hash", "prev_hash"}) for e in events]),
            )
    assert rows[by_orm] == rows[by_statement]
    assert rows[by_orm][0] == ("in_progress", agent.id, 3)
