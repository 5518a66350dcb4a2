"""Server-side render time of the agent UI's queue page with 10,000 tickets waiting in one tier.

Steps: a fresh PostgreSQL database ``tierroute_bench_queue_page`` (or a SQLite file with ``--backend
sqlite``) and Redis DB 15 (flushed); N queued tier-1 tickets bulk-inserted with the app's Ticket table
(random priority, customer tier and age over a week); the Redis sorted sets rebuilt by reconcile; a lead
with a web password, signed in through the real form. Then ``GET /ui/queues/1`` for the first, a middle
and the last page, and ``GET /ui/`` (my queues), each R times, in this process over ASGI: the whole
server side (session cookie, CSRF token, the agent's row, Redis ``ZRANGE`` of the page, one query for its
rows, Jinja2 render) without network or browser.

Usage: python bench/queue_page.py [--tickets 10000] [--repeat 300] [--backend postgres|sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import httpx

# The repository before bench/ on the path: bench/rules.py must not shadow the ``rules`` package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import _common as c

TIER = 1
PG_DB = "tierroute_bench_queue_page"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
REDIS_URL = "redis://127.0.0.1:6379/15"
PASSWORD = "bench-password"
TARGET_MS = 200.0


def fresh_postgres() -> None:
    import psycopg

    with psycopg.connect(c.PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


async def seed(url: str, n: int) -> float:
    """``n`` queued tier-1 tickets in one bulk insert per 10,000; returns seconds taken."""
    from sqlalchemy import insert, text

    import router.models  # noqa: F401  (every table, so foreign keys resolve)
    from router.db import make_engine
    from router.models.columns import utcnow
    from router.models.tickets import Ticket

    rng = random.Random(11)
    now = utcnow()
    engine = make_engine(url)
    t0 = time.perf_counter()
    try:
        for start in range(0, n, 10_000):
            rows: list[dict[str, Any]] = []
            for i in range(start, min(n, start + 10_000)):
                rows.append(
                    c.queued_ticket_row(
                        i,
                        rng,
                        now,
                        ref=f"Q-{i + 1:07d}",
                        subject=f"Queue page bench ticket {i + 1}: checkout fails for some users",
                        tier=TIER,
                    )
                )
            async with engine.begin() as conn:
                await conn.execute(insert(Ticket), rows)
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE ticket"))
    finally:
        await engine.dispose()
    return time.perf_counter() - t0


async def measure(args: argparse.Namespace, url: str, data_dir: Path) -> list[list[object]]:
    from queues.reconcile import reconcile
    from queues.runtime import open_runtime
    from router.agents import service as agents
    from router.app import create_app
    from router.settings import Settings
    from router.unit_of_work import commit
    from router.web.views import PAGE_SIZE
    from rules.vocabulary import SUPPORT_TIERS

    settings = Settings(database_url=url, redis_url=REDIS_URL, data_dir=data_dir)
    async with open_runtime(settings) as runtime:
        await runtime.pool.flushdb()
        seconds = await seed(url, args.tickets)
        print(f"bulk insert of {args.tickets:,} tickets: {seconds:.1f}s", flush=True)
        report = await reconcile(runtime.app, runtime.pool)
        print(f"reconcile: tier {TIER} holds {report.queued.get(TIER, 0):,} tickets in Redis", flush=True)
        async with runtime.app.sessionmaker() as session:
            await agents.add_agent(
                session, name="Bench Lead", email="lead@bench.test", role="lead", tiers=SUPPORT_TIERS, password=PASSWORD
            )
            await commit(session, runtime.app.effects)

        app = create_app(settings, lambda _s: None)  # type: ignore[arg-type,return-value]
        app.state.ctx = runtime.app
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            form = await client.get("/ui/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            signed = await client.post(
                "/ui/login", data={"email": "lead@bench.test", "password": PASSWORD, "csrf_token": token.group(1)}
            )
            if signed.status_code != 303:
                raise RuntimeError(f"sign-in failed: {signed.status_code} {signed.text[:200]}")
            last = max(1, -(-args.tickets // PAGE_SIZE))
            targets = [
                ("queue page 1", f"/ui/queues/{TIER}?page=1"),
                (f"queue page {last // 2}", f"/ui/queues/{TIER}?page={last // 2}"),
                (f"queue page {last} (last)", f"/ui/queues/{TIER}?page={last}"),
                ("my queues", "/ui/"),
            ]
            rows: list[list[object]] = []
            for label, path in targets:
                samples: list[float] = []
                size = 0
                for i in range(args.warmup + args.repeat):
                    t = time.perf_counter()
                    r = await client.get(path)
                    elapsed = time.perf_counter() - t
                    if r.status_code != 200:
                        raise RuntimeError(f"{path} answered {r.status_code}")
                    if i >= args.warmup:
                        samples.append(elapsed)
                    size = len(r.content)
                if path.startswith("/ui/queues") and r.text.count('href="/ui/tickets/') != PAGE_SIZE:
                    raise RuntimeError(f"{path} did not list {PAGE_SIZE} tickets")
                s = c.summary_ms(samples)
                rows.append([label, s["n"], s["p50"], s["p90"], s["p99"], s["max"], f"{size / 1024:.0f} KiB"])
        await runtime.pool.flushdb()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--wait-quiet", type=float, default=60, help="wait up to this long for an idle machine")
    args = parser.parse_args()
    if args.tickets < 150:
        parser.error("--tickets must fill at least three pages")

    print(f"=== queue page: {args.tickets:,} tickets in tier {TIER}, {args.backend}, Redis DB 15 ===", flush=True)
    print(c.code_version(), flush=True)
    data_dir = c.fresh_dir("queue-page")
    if args.backend == "postgres":
        fresh_postgres()
        url = PG_URL
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    print(c.wait_quiet(args.wait_quiet), flush=True)
    rows = asyncio.run(measure(args, url, data_dir))
    c.print_table(
        f"server-side render (ms) over ASGI, {args.tickets:,} tickets waiting in tier {TIER}; {args.backend}",
        ["page", "n", "p50", "p90", "p99", "max", "size"],
        rows,
    )
    worst = max(float(str(r[4])) for r in rows if str(r[0]).startswith("queue"))
    verdict = "met" if worst < TARGET_MS else f"MISSED by {worst - TARGET_MS:.1f} ms"
    print(f"target queue page < {TARGET_MS:.0f} ms: worst p99 {worst:.2f} ms -> {verdict}", flush=True)


if __name__ == "__main__":
    main()
