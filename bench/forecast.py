"""The breach forecast of one deep tier: the pure engine, and the whole forecast from the database.

Steps: a fresh PostgreSQL database ``tierroute_bench_forecast`` (or a SQLite file with ``--backend
sqlite``); N queued tier-1 tickets bulk-inserted (random priority, customer tier, age over a week, and an
SLA due time over the next 8 hours); A agents on tier 1 and a week of claims for the handling rate. Then,
R times each: ``router.forecast.engine.forecast`` over the N due times (plain numbers, the pure part), and
``router.forecast.service.tier_forecast`` (read the tier's queued rows, sort them in claim order, read the
claims and the capacity, forecast), the work behind ``GET /api/v1/queues/1/forecast`` and each cron run.

Usage: python bench/forecast.py [--tickets 100000] [--repeat 20] [--backend postgres|sqlite]
The full size needs the machine alone; smoke runs: ``--tickets 2000 --repeat 3 --backend sqlite``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

# The repository before bench/ on the path: bench/rules.py must not shadow the ``rules`` package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import _common as c

TIER = 1
PG_DB = "tierroute_bench_forecast"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
TARGET_MS = 200.0


def fresh_postgres() -> None:
    import psycopg

    with psycopg.connect(c.PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


async def seed(url: str, n: int, agents: int) -> float:
    """``n`` queued tier-1 tickets, ``agents`` agents and a week of their claims; returns seconds taken."""
    from sqlalchemy import insert, text

    import router.models  # noqa: F401  (every table, so foreign keys resolve)
    from router.db import make_engine
    from router.models.agents import Agent
    from router.models.audit import AuditEvent
    from router.models.columns import utcnow
    from router.models.tickets import Ticket

    rng = random.Random(17)
    now = utcnow()
    engine = make_engine(url)
    t0 = time.perf_counter()
    try:
        for start in range(0, n, 10_000):
            rows: list[dict[str, Any]] = []
            for i in range(start, min(n, start + 10_000)):
                row = c.queued_ticket_row(
                    i, rng, now, ref=f"F-{i + 1:07d}", subject=f"Forecast bench ticket {i + 1}", tier=TIER
                )
                row["sla_next_due_at"] = now + timedelta(seconds=rng.randrange(8 * 3600))
                rows.append(row)
            async with engine.begin() as conn:
                await conn.execute(insert(Ticket), rows)
        async with engine.begin() as conn:
            people = [
                {"name": f"Agent {a}", "email": f"agent{a}@bench.test", "role": "agent", "tiers": [TIER],
                 "active": True, "created_at": now, "max_open": {}, "skills": []}
                for a in range(agents)
            ]  # fmt: skip
            await conn.execute(insert(Agent), people)
            # A week of claims (5 a working hour each, 8 hours a day) on the first tickets' chains.
            claims = [
                {"ticket_id": 1 + k % max(n, 1), "seq": 1 + k // max(n, 1), "at": now - timedelta(days=d, hours=h,
                 minutes=12 * m), "actor": f"agent:{a + 1}", "action": "claimed", "to_tier": TIER, "data": {},
                 "prev_hash": "", "hash": ""}
                for k, (a, d, h, m) in enumerate(
                    (a, d, h, m) for a in range(agents) for d in range(7) for h in range(8) for m in range(5)
                )
            ]  # fmt: skip
            await conn.execute(insert(AuditEvent), claims)
        if engine.dialect.name == "postgresql":
            # VACUUM too, as autovacuum soon does after a bulk load (its insert threshold): with the visibility
            # map set the waiting queue is an index-only scan that reads no table rows (without it, 100,000
            # heap fetches: +80 ms).
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM (ANALYZE)"))
    finally:
        await engine.dispose()
    return time.perf_counter() - t0


async def measure(args: argparse.Namespace, url: str) -> list[list[object]]:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from router.db import make_engine, migrate
    from router.forecast import service as forecasts
    from router.forecast.engine import forecast
    from router.models.columns import utcnow
    from router.settings import Settings

    migrate(url)
    print(f"seed: {await seed(url, args.tickets, args.agents):.1f}s", flush=True)
    settings = Settings(database_url=url)
    engine = make_engine(url)
    rows: list[list[object]] = []
    try:
        async with AsyncSession(engine) as session:
            made = await forecasts.tier_forecast(session, settings, TIER, utcnow())
        due = made.queue.due
        if len(due) != args.tickets:
            raise RuntimeError(f"read {len(due)} waiting tickets, seeded {args.tickets}")
        f = made.forecast
        print(
            f"capacity {f.capacity}, rate {f.rate:.2f} claims/agent-hour, predicted breaches {sum(f.flags):,}, "
            f"in the next 2 h {f.breaches_within(7200):,}, overdue {f.overdue:,}",
            flush=True,
        )
        now = utcnow().timestamp()
        for label, run in [
            (
                "engine only (pure)",
                lambda: _timed_sync(lambda: forecast(due, now=now, capacity=f.capacity, rate=f.rate)),
            ),
            ("tier_forecast (database + engine)", lambda: _timed_forecast(engine, settings)),
        ]:
            samples = []
            for i in range(args.warmup + args.repeat):
                elapsed = await run()
                if i >= args.warmup:
                    samples.append(elapsed)
            s = c.summary_ms(samples)
            rows.append([label, s["n"], s["p50"], s["p90"], s["p99"], s["max"]])
    finally:
        await engine.dispose()
    return rows


async def _timed_sync(work: Any) -> float:
    t = time.perf_counter()
    work()
    return time.perf_counter() - t


async def _timed_forecast(engine: Any, settings: Any) -> float:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from router.forecast import service as forecasts
    from router.models.columns import utcnow

    t = time.perf_counter()
    async with AsyncSession(engine) as session:
        await forecasts.tier_forecast(session, settings, TIER, utcnow())
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--wait-quiet", type=float, default=60, help="wait up to this long for an idle machine")
    args = parser.parse_args()

    print(f"=== breach forecast: {args.tickets:,} tickets in tier {TIER}, {args.backend} ===", flush=True)
    print(c.code_version(), flush=True)
    data_dir = c.fresh_dir("forecast")
    if args.backend == "postgres":
        fresh_postgres()
        url = PG_URL
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    print(c.wait_quiet(args.wait_quiet), flush=True)
    rows = asyncio.run(measure(args, url))
    c.print_table(
        f"forecast of tier {TIER} (ms), {args.tickets:,} tickets waiting; {args.backend}",
        ["step", "n", "p50", "p90", "p99", "max"],
        rows,
    )
    worst = float(str(rows[-1][4]))
    verdict = "met" if worst <= TARGET_MS else f"MISSED by {worst - TARGET_MS:.1f} ms"
    print(f"target forecast <= {TARGET_MS:.0f} ms: p99 {worst:.2f} ms -> {verdict}", flush=True)


if __name__ == "__main__":
    main()
