"""Workers under faults, with real processes and a real Redis: a worker SIGKILLed during its start-up
reconcile, and Redis wiped (FLUSHDB) while routing is busy."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import insert
from sqlmodel import col, func, select

from queues.lease import LEASE_SECONDS
from queues.names import GENERATION, RECONCILE_LOCK, tier_queue_key
from queues.runtime import Runtime, open_runtime
from router.models.columns import utcnow
from router.models.tickets import Status, Ticket
from router.settings import Settings
from tests.conftest import _empty_tables, one_backend, open_unrouted

pytestmark = pytest.mark.slow


@pytest.fixture
async def private(settings: Settings, private_redis: str) -> AsyncIterator[Runtime]:
    """A runtime on a Redis server of this test's own, so FLUSHDB and kills touch nothing shared."""
    own = settings.model_copy(update={"redis_url": private_redis})
    async with open_runtime(own, run_migrations=False) as rt:
        await _empty_tables(rt)
        yield rt


@pytest.fixture
def env(settings: Settings, private_redis: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TIERROUTE_DATABASE_URL": settings.effective_database_url,
        "TIERROUTE_REDIS_URL": private_redis,
        "TIERROUTE_DATA_DIR": str(tmp_path),
        "TIERROUTE_ROUTE_JOB_TIMEOUT": "5",
    }


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running at the end are killed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def start_worker(env: dict[str, str], processes: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """``tierroute worker``, its output in ``worker-N.log`` of the data dir (read it when a test fails)."""
    log = Path(env["TIERROUTE_DATA_DIR"]) / f"worker-{len(processes)}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "router.cli", "worker"], env=env, stdout=out, stderr=out)
    processes.append(proc)
    return proc


def worker_log(env: dict[str, str], index: int) -> str:
    return (Path(env["TIERROUTE_DATA_DIR"]) / f"worker-{index}.log").read_text(errors="replace")[-3000:]


async def insert_tickets(rt: Runtime, count: int, *, status: Status, tier: int, start: int = 0) -> None:
    """``count`` ticket rows by one bulk ``INSERT`` (deep queues in a second, where intake takes minutes)."""
    rng = random.Random(start)
    now = utcnow()
    rows = [
        {
            "ref": f"F-{i:07d}",
            "subject": f"fault ticket {i}",
            "status": status.value,
            "support_tier": tier,
            "priority": rng.choice(["urgent", "high", "normal", "low"]),
            "requester_email": f"user{i}@faults.example",
            "customer_tier": rng.randint(1, 4),
            "channel": "api",
            "source": "test",
            "tags": [],
            "escalation_count": 0,
            "reopen_count": 0,
            "created_at": now,
            "updated_at": now,
            "queued_at": now if status == Status.queued else None,
            "audit_seq": 0,
            "audit_head": "",
        }
        for i in range(start, start + count)
    ]
    async with rt.app.engine.begin() as conn:
        for chunk in range(0, len(rows), 5000):
            await conn.execute(insert(Ticket), rows[chunk : chunk + 5000])


async def ticket_status(rt: Runtime, ticket_id: int) -> Status:
    async with rt.app.sessionmaker() as s:
        ticket = await s.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket.status


@one_backend
async def test_a_worker_killed_during_its_reconcile_does_not_block_the_next(
    private: Runtime, env: dict[str, str], private_redis: str, processes: list[subprocess.Popen[bytes]]
) -> None:
    """Worker A is SIGKILLed while it holds the reconcile lock (a deep queue makes the rebuild last long
    enough to catch); worker B takes a job within seconds, and ``tierroute reconcile`` succeeds."""
    rt = private
    await insert_tickets(rt, 40_000, status=Status.queued, tier=1)
    r = redis.Redis.from_url(private_redis)
    first = start_worker(env, processes)
    deadline = time.monotonic() + 90
    while not r.exists(RECONCILE_LOCK) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.001)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert r.exists(RECONCILE_LOCK), "the kill must land while the worker holds the reconcile lock"

    ticket_id = await open_unrouted(rt, subject="Cannot log in")  # its routing job is in Redis now
    second = start_worker(env, processes)
    started, ready = time.monotonic(), None
    while await ticket_status(rt, ticket_id) == Status.new and time.monotonic() - started < 90:
        if ready is None and "workers_started" in worker_log(env, 1):
            ready = time.monotonic()
        await asyncio.sleep(0.1)
    took = time.monotonic() - (ready or started)
    assert await ticket_status(rt, ticket_id) == Status.queued
    # Blocked behind the dead worker's lock, the job would wait for its lease to lapse (LEASE_SECONDS) and the
    # 40,000-ticket rebuild; free, it runs as soon as the worker is up (process start not counted: a loaded
    # machine takes 20 s for that alone).
    assert took < LEASE_SECONDS, f"the next worker took its first job {took:.1f} s after it started"

    reconciled = subprocess.run(
        [sys.executable, "-m", "router.cli", "reconcile"], env=env, capture_output=True, text=True, timeout=90
    )
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert r.zcard(tier_queue_key(1)) == 40_001
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0


async def queued_ids(rt: Runtime, ref_prefix: str) -> dict[int, set[int]]:
    async with rt.app.sessionmaker() as s:
        q = select(Ticket.id, Ticket.support_tier).where(Ticket.status == Status.queued)
        rows = (await s.exec(q.where(col(Ticket.ref).startswith(ref_prefix)))).all()
    found: dict[int, set[int]] = {}
    for ticket_id, tier in rows:
        assert ticket_id is not None
        found.setdefault(tier, set()).add(ticket_id)
    return found


def missing_from_redis(r: redis.Redis, expected: dict[int, set[int]]) -> int:
    missing = 0
    for tier, ids in expected.items():
        members = {int(m) for m in r.zrange(tier_queue_key(tier), 0, -1)}
        missing += len(ids - members)
    return missing


@one_backend
async def test_tier_queues_come_back_within_seconds_after_a_wipe_while_routing_is_busy(
    private: Runtime, env: dict[str, str], private_redis: str, processes: list[subprocess.Popen[bytes]]
) -> None:
    """3,000 queued tickets and a backlog of 2,000 to route; FLUSHDB while the worker routes: every ticket
    that was queued is claimable again within a few seconds, ahead of the routing backlog."""
    rt = private
    for tier in (1, 2, 3):
        await insert_tickets(rt, 1000, status=Status.queued, tier=tier, start=tier * 10_000)
    await insert_tickets(rt, 2000, status=Status.new, tier=0, start=100_000)
    r = redis.Redis.from_url(private_redis)
    worker = start_worker({**env, "TIERROUTE_WORKER_MAX_JOBS": "10"}, processes)

    async def routed() -> int:
        async with rt.app.sessionmaker() as s:
            q = select(func.count()).select_from(Ticket).where(col(Ticket.ref).startswith("F-01"))
            q = q.where(Ticket.status != Status.new)
            return int((await s.exec(q)).one())

    deadline = time.monotonic() + 90
    while await routed() < 50 and time.monotonic() < deadline:  # the worker is busy routing
        await asyncio.sleep(0.1)
    assert 50 <= await routed() < 1500, "the wipe must land while the routing backlog is large"
    expected = await queued_ids(rt, "F-00")  # the tickets queued before; routing adds more meanwhile
    assert sum(len(ids) for ids in expected.values()) == 3000
    assert missing_from_redis(r, expected) == 0

    r.flushdb()
    wiped_at = time.monotonic()
    while missing_from_redis(r, expected) and time.monotonic() - wiped_at < 60:
        time.sleep(0.2)
    took = time.monotonic() - wiped_at
    assert missing_from_redis(r, expected) == 0
    assert took < 5, f"the queues came back {took:.1f} s after the wipe\n{worker_log(env, 0)}"
    assert r.exists(GENERATION)
    assert await routed() < 2000, "the queues came back ahead of the routing backlog"
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
