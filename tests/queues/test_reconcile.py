"""Reconcile and crash safety: Redis is derived state, rebuilt exactly from the database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, func, select

from queues.reconcile import reconcile
from queues.runtime import Runtime, open_runtime
from queues.worker import drain
from router.app import create_app
from router.models.audit import AuditEvent
from router.models.tickets import Status, Ticket
from router.settings import Settings
from router.tickets import service as tickets
from tests.conftest import _empty_tables, auth, make_agent, one_backend, open_unrouted, redis_snapshot, ticket_json


@pytest.fixture
async def private(settings: Settings, private_redis: str) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """A runtime on a Redis server of this test's own, so FLUSHALL and kills touch nothing shared."""
    own = settings.model_copy(update={"redis_url": private_redis})
    async with open_runtime(own, run_migrations=False) as rt:
        await _empty_tables(rt)
        app = create_app(own, lambda _s: None)  # type: ignore[arg-type,return-value]
        app.state.ctx = rt.app
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield rt, client


async def test_committed_ticket_without_enqueue_is_routed_after_reconcile(
    private: tuple[Runtime, httpx.AsyncClient],
) -> None:
    rt, _ = private
    ticket_id = await open_unrouted(rt, subject="Invoice question", enqueue=False)
    totals = await drain(rt)  # nothing in Redis knows about it
    assert sum(v for k, v in totals.items() if k != "failed") == 0
    async with rt.app.sessionmaker() as s:
        assert (await tickets.get(s, ticket_id)).status == Status.new
    report = await reconcile(rt.app, rt.pool)
    assert report.routing_enqueued == 1
    await drain(rt)
    async with rt.app.sessionmaker() as s:
        ticket = await s.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == Status.queued and ticket.support_tier == 1
    assert await rt.app.tier_queue.page(1, 0, 10) == [ticket_id]
    # Reconciling again changes nothing and enqueues nothing.
    again = await reconcile(rt.app, rt.pool)
    assert (again.routing_enqueued, again.automation_enqueued) == (0, 0)


async def test_flushall_then_reconcile_restores_every_queue_exactly(private: tuple[Runtime, httpx.AsyncClient]) -> None:
    rt, client = private
    _, lead = await make_agent(rt, role="lead", tiers=())
    subjects = [
        "How do I reset my password?",
        "Invoice is wrong",
        "API returns 500 error",
        "Production down: outage",
        "Payment gateway failing",
        "General question",
    ]
    for i in range(60):
        await client.post(
            "/api/v1/tickets",
            json=ticket_json(
                subject=subjects[i % len(subjects)], body="details", priority=["low", "normal", "high", "urgent"][i % 4]
            ),
            headers=auth(lead),
        )
    await drain(rt)
    for tier in (1, 2):  # some tickets leave the queues
        claimed = await client.post(f"/api/v1/queues/{tier}/claim", headers=auth(lead))
        assert claimed.status_code == 200, (tier, claimed.text)
    before = await redis_snapshot(rt.pool)
    assert sum(len(v) for k, v in before.items() if not k.endswith(":age")) == 58
    assert {k for k in before if not k.endswith(":age")} == {f"tierroute:queue:{t}" for t in range(5)}

    await rt.pool.flushall()
    assert await redis_snapshot(rt.pool) == {}
    await reconcile(rt.app, rt.pool)
    assert await redis_snapshot(rt.pool) == before


async def test_reconcile_drops_entries_the_database_does_not_hold(private: tuple[Runtime, httpx.AsyncClient]) -> None:
    rt, _ = private
    await rt.app.tier_queue.push(2, 999, 1.0, 1)
    await reconcile(rt.app, rt.pool)
    assert await rt.app.tier_queue.depth(2) == 0


@pytest.mark.slow
async def test_sigkilled_worker_mid_routing_loses_nothing(
    private: tuple[Runtime, httpx.AsyncClient], settings: Settings, private_redis: str, tmp_path: Path
) -> None:
    """A worker is SIGKILLed while it routes (after ten tickets, well before the last): every ticket is
    routed exactly once in the end. 120 tickets leave the kill the same margin on either side as 400 did
    (the worker routes a few dozen in the time the kill takes); the wait for the dead worker's locks
    (job_timeout + 10 s) is the same whatever the count."""
    rt, _ = private
    total = 120
    for i in range(total):  # committed unrouted: the worker's route jobs route them
        await open_unrouted(rt, subject=f"API error {i}", body="stack trace")
    env = {
        **os.environ,
        "TIERROUTE_DATABASE_URL": settings.effective_database_url,
        "TIERROUTE_REDIS_URL": private_redis,
        "TIERROUTE_DATA_DIR": str(tmp_path),
        "TIERROUTE_ROUTE_JOB_TIMEOUT": "1",
        "TIERROUTE_WORKER_MAX_JOBS": "20",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "router.cli", "worker", "--tiers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def routed_count() -> int:
        async with rt.app.sessionmaker() as s:
            q = select(func.count()).select_from(Ticket).where(col(Ticket.status) != Status.new)
            return int((await s.exec(q)).one())

    deadline = time.monotonic() + 60
    while await routed_count() < 10 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = await routed_count()
    assert 0 < killed_at < total, "the kill must land mid-routing"

    # Jobs the dead worker held stay locked for job_timeout + 10 s, then a new worker runs them.
    deadline = time.monotonic() + 60
    while await routed_count() < total and time.monotonic() < deadline:
        await reconcile(rt.app, rt.pool)
        await drain(rt, tiers=[2])
        await asyncio.sleep(0.5)
    assert await routed_count() == total
    async with rt.app.sessionmaker() as s:
        per_ticket = (
            await s.exec(
                select(AuditEvent.ticket_id, func.count())
                .where(AuditEvent.action == "routed")
                .group_by(col(AuditEvent.ticket_id))
            )
        ).all()
    assert len(per_ticket) == total and all(n == 1 for _, n in per_ticket)
    assert await rt.app.tier_queue.depth(2) == total


@one_backend
async def test_concurrent_reconciles_keep_every_entry(private: tuple[Runtime, httpx.AsyncClient]) -> None:
    from queues.tier_queue import RedisTierQueue

    rt, _ = private
    queue = RedisTierQueue(rt.pool)
    entries = [(i, float(i), i) for i in range(1, 12_001)]
    await asyncio.gather(*(queue.replace(1, entries) for _ in range(4)))
    assert await queue.depth(1) == len(entries)
    assert [k async for k in rt.pool.scan_iter(match="*:rebuild:*")] == []


async def test_a_long_chain_of_rules_routes_on_postgresql_too(private: tuple[Runtime, httpx.AsyncClient]) -> None:
    """The routed event names the deciding rule; a dozen long rule ids must not overflow the actor column."""
    from router.routing import service as routing
    from rules import parse_rulebook

    rt, client = private
    _, lead = await make_agent(rt, role="lead", tiers=())
    book = parse_rulebook(
        "rules:\n"
        + "".join(
            f"  - {{id: {'a-very-long-rule-identifier-' + str(i) * 3}, when: {{field: text, keywords_any: [help]}}, "
            f"then: {{tags: [t{i}]}}}}\n"
            for i in range(12)
        )
    )
    tid = await open_unrouted(rt, subject="help")
    async with rt.app.sessionmaker() as s:
        assert await routing.route(s, tid, book)
        await s.commit()
    trail = (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()
    assert trail[-1]["actor"] == "rule:a-very-long-rule-identifier-000"
    assert len(trail[-1]["data"]["rules"]) == 12
