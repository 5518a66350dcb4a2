"""Idempotent claims (issue 16 item 11): a claim retried with the same ``Idempotency-Key`` answers the ticket
the first attempt took and claims nothing new, also when the retries race each other."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlmodel import col, func, select

from queues.runtime import Runtime
from router.models.audit import AuditEvent
from router.models.claims import ClaimKey
from router.models.columns import utcnow
from router.models.tickets import Ticket
from router.unit_of_work import commit
from tests.conftest import auth, make_agent
from tests.web.helpers import open_ticket


async def _queued(runtime: Runtime, count: int, tier: int = 1) -> list[int]:
    """``count`` tickets queued in ``tier``, oldest first (the claim order among equals)."""
    return [await open_ticket(runtime, subject=f"Question {i}", tier=tier) for i in range(count)]


async def _claim_events(runtime: Runtime) -> dict[int, int]:
    async with runtime.app.sessionmaker() as s:
        rows = await s.exec(
            select(AuditEvent.ticket_id, func.count())
            .where(AuditEvent.action == "claimed")
            .group_by(col(AuditEvent.ticket_id))
        )
        return {int(ticket_id): int(n) for ticket_id, n in rows.all()}


async def _claim(client: httpx.AsyncClient, token: str, key: str, tier: int = 1) -> httpx.Response:
    return await client.post(f"/api/v1/queues/{tier}/claim", headers=auth(token) | {"Idempotency-Key": key})


async def test_a_retry_with_the_same_key_returns_the_same_ticket_and_claims_nothing_new(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    first, second, _ = await _queued(runtime, 3)
    agent, token = await make_agent(runtime, tiers=(1,))
    lost = await _claim(client, token, "claim-7f3a")
    assert lost.status_code == 200 and lost.json()["id"] == first  # the answer the client never saw
    assert "idempotent-replayed" not in lost.headers

    retry = await _claim(client, token, "claim-7f3a")
    assert retry.status_code == 200
    assert retry.json()["id"] == first
    assert retry.json()["assignee_id"] == agent.id
    assert retry.headers["idempotent-replayed"] == "true"
    assert await _claim_events(runtime) == {first: 1}

    fresh = await _claim(client, token, "claim-9c01")
    assert fresh.status_code == 200 and fresh.json()["id"] == second
    assert await _claim_events(runtime) == {first: 1, second: 1}
    depth = (await client.get("/api/v1/queues/1", headers=auth(token))).json()["total"]
    assert depth == 1


async def test_concurrent_retries_with_one_key_claim_one_ticket(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ids = await _queued(runtime, 4)
    _, token = await make_agent(runtime, tiers=(1,))
    answers = await asyncio.gather(*[_claim(client, token, "same-key") for _ in range(6)])
    assert [r.status_code for r in answers] == [200] * 6, [r.text for r in answers]
    assert {r.json()["id"] for r in answers} == {ids[0]}
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 5
    assert await _claim_events(runtime) == {ids[0]: 1}
    listing = (await client.get("/api/v1/queues/1", headers=auth(token))).json()
    assert [t["id"] for t in listing["items"]] == ids[1:]  # nothing else left the queue


async def test_keys_belong_to_one_agent_and_one_tier(runtime: Runtime, client: httpx.AsyncClient) -> None:
    first, second = await _queued(runtime, 2)
    _, ana = await make_agent(runtime, tiers=(1, 2))
    _, bo = await make_agent(runtime, tiers=(1,))
    assert (await _claim(client, ana, "k1")).json()["id"] == first
    assert (await _claim(client, bo, "k1")).json()["id"] == second
    other_tier = await _claim(client, ana, "k1", tier=2)
    assert other_tier.status_code == 422
    assert other_tier.headers["content-type"] == "application/problem+json"
    assert "tier 1" in other_tier.json()["detail"]


async def test_an_empty_queue_remembers_nothing_and_an_expired_key_claims_afresh(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, token = await make_agent(runtime, tiers=(1,))
    assert (await _claim(client, token, "early")).status_code == 204
    [first, second] = await _queued(runtime, 2)
    assert (await _claim(client, token, "early")).json()["id"] == first
    async with runtime.app.sessionmaker() as s:
        await s.exec(update(ClaimKey).values(expires_at=utcnow() - timedelta(seconds=1)))  # type: ignore[call-overload]
        await commit(s, runtime.app.effects)
    again = await _claim(client, token, "early")
    assert again.json()["id"] == second
    assert "idempotent-replayed" not in again.headers
    async with runtime.app.sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(ClaimKey))).one() == 1


async def test_a_malformed_key_is_a_422(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await _queued(runtime, 1)
    _, token = await make_agent(runtime, tiers=(1,))
    for key in ("has space", "x" * 256, ""):
        r = await _claim(client, token, key)
        assert r.status_code == 422, key
        assert r.headers["content-type"] == "application/problem+json"
    async with runtime.app.sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(Ticket).where(Ticket.assignee_id != None))).one() == 0  # noqa: E711
