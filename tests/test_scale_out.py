"""Two API processes and two workers on one PostgreSQL and one Redis stay correct together.

Tickets are posted to both APIs at once, some of them twice (the same ``external_id`` to each API):
every acknowledged ticket exists once, is routed exactly once, sits in its tier queue once, is
acknowledged by tier automation at most once, and every hash chain verifies.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, func, select

from queues.runtime import Runtime, open_runtime
from router.audit import service as audit
from router.models.audit import AuditEvent
from router.models.tickets import Status, Ticket
from router.settings import Settings
from tests.conftest import _empty_tables, auth, free_port, make_agent, one_backend, ticket_json

TICKETS = 120
DUPLICATED = 20  # of those, posted to both APIs with the same external id


def start(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "router.cli", *args], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


@pytest.fixture
async def processes(settings: Settings, private_redis: str, tmp_path: Path) -> AsyncIterator[tuple[list[str], Runtime]]:
    """``tierroute serve`` twice and ``tierroute worker`` twice, on the test's database (emptied first) and
    a Redis of the test's own; with a runtime of the test's on the same two."""
    own = settings.model_copy(update={"redis_url": private_redis})
    env = {
        **os.environ,
        "TIERROUTE_DATABASE_URL": own.effective_database_url,
        "TIERROUTE_REDIS_URL": private_redis,
        "TIERROUTE_DATA_DIR": str(tmp_path),
        "TIERROUTE_WORKER_POLL_DELAY": "0.02",
    }
    async with open_runtime(own, run_migrations=False) as rt:
        await _empty_tables(rt)
        ports = [free_port(), free_port()]
        procs = [start(env, "serve", "--port", str(p), log=tmp_path / f"api-{p}.log") for p in ports]
        procs += [start(env, "worker", log=tmp_path / f"worker-{i}.log") for i in range(2)]
        try:
            yield [f"http://127.0.0.1:{p}" for p in ports], rt
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            await _empty_tables(rt)


async def wait_healthy(client: httpx.AsyncClient, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (await client.get(f"{base}/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"{base} did not start")


@pytest.mark.slow
@one_backend
async def test_two_apis_and_two_workers_route_each_ticket_once(processes: tuple[list[str], Runtime]) -> None:
    bases, rt = processes
    _, lead = await make_agent(rt, role="lead", tiers=())
    async with httpx.AsyncClient(timeout=30) as client:
        for base in bases:
            await wait_healthy(client, base)
        gate = asyncio.Semaphore(16)

        async def post(base: str, i: int) -> httpx.Response:
            body = ticket_json(subject=f"API error {i}", body="stack trace", external_id=f"ext-{i}")
            async with gate:
                return await client.post(f"{base}/api/v1/tickets", json=body, headers=auth(lead))

        sends = [post(bases[i % 2], i) for i in range(TICKETS)]
        sends += [post(bases[(i + 1) % 2], i) for i in range(DUPLICATED)]  # the same ticket, other API
        replies = await asyncio.gather(*sends)
    assert {r.status_code for r in replies} == {202}, [r.text for r in replies if r.status_code != 202][:3]
    acknowledged = {r.json()["id"] for r in replies}
    assert len(acknowledged) == TICKETS

    deadline = time.monotonic() + 60
    async with rt.app.sessionmaker() as s:
        while time.monotonic() < deadline:
            done = (
                select(func.count())
                .select_from(AuditEvent)
                .where(col(AuditEvent.action).in_(["automation", "automation_skipped"]))
            )
            if (await s.exec(done)).one() >= TICKETS:
                break
            await s.rollback()
            await asyncio.sleep(0.2)
        stored = (await s.exec(select(Ticket))).all()
        assert {t.id for t in stored} == acknowledged
        per_ticket = (
            await s.exec(
                select(AuditEvent.ticket_id, AuditEvent.action, func.count())
                .where(col(AuditEvent.action).in_(["created", "routed", "automation", "automation_skipped"]))
                .group_by(AuditEvent.ticket_id, AuditEvent.action)
            )
        ).all()
        assert {n for _, _, n in per_ticket} == {1}, "a ticket was created, routed or acknowledged twice"
        assert len(per_ticket) == 3 * TICKETS
        assert all(t.status == Status.queued and t.support_tier is not None for t in stored)
        reports = [r async for r in audit.verify_all(s)]
        assert len(reports) == TICKETS and all(r.valid for r in reports)
    depths = [await rt.app.tier_queue.depth(tier) for tier in range(5)]
    assert sum(depths) == TICKETS
