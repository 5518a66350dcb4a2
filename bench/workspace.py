"""The agent's workspace at scale: full-text search over N tickets and filtered views of the open ones.

Steps: a fresh PostgreSQL database ``tierroute_bench_workspace`` (or a SQLite file with ``--backend
sqlite``); 2,000 customers; N tickets bulk-inserted 10,000 per statement with one message each (subjects
and bodies drawn from a vocabulary with a Zipf-like spread, so words range from rare to very common), of
which ``--open`` are open (queued or in progress, with running SLA clocks) and the rest resolved or
closed. The search index is built by the database's own triggers as the rows go in (migration 0018), as
it is in production. Then, in this process over ASGI with a bearer token (the whole server side: auth,
validation, the queries, the JSON), R requests of each kind:

- search: ``GET /api/v1/tickets?q=...`` with rare, common and very common words, two-word queries, a
  customer's name and a requester's address, as a tier-1/2 agent (visibility filter on) and as a lead;
- views: ``GET /api/v1/tickets`` with the filters of typical saved views over the open tickets (tier +
  status sorted by priority, customer tier sorted oldest first, SLA breached sorted by due time, a tag,
  an agent's own tickets), the first page and a page 20 deep by cursor.

Targets (issue 17): search p99 <= 50 ms over 1,000,000 tickets on PostgreSQL; a filtered view of
100,000 open tickets p99 <= 100 ms.

Usage: python bench/workspace.py [--tickets 1000000] [--open 100000] [--repeat 200]
                                 [--backend postgres|sqlite] [--redis-url redis://127.0.0.1:6379/15]
                                 [--db NAME] [--seed-only | --reuse]

Seeding a million tickets takes 20-30 minutes; ``--seed-only`` builds the database and stops, ``--reuse``
measures a database a ``--seed-only`` run (with the same ``--db``, ``--tickets`` and ``--open``) left.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

# The repository before bench/ on the path: bench/rules.py must not shadow the ``rules`` package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import _common as c

PG_DB = "tierroute_bench_workspace"
SEARCH_TARGET_MS = 50.0
VIEW_TARGET_MS = 100.0
BATCH = 10_000
N_CUSTOMERS = 2_000
AGENT_EMAIL = "agent@bench.test"
LEAD_EMAIL = "lead@bench.test"
#: Distinct words in subjects and bodies.
VOCABULARY = 20_000

# Words by rank: a word's weight is 1/rank (Zipf), so the first are in a large share of tickets.
WORDS = """
error login password invoice export payment account users report dashboard api timeout sync email billing
refund webhook certificate import mobile upload download calendar permission integration database latency
outage printer license subscription invoice2 firewall proxy backup restore migration notification template
signature checkout cart shipping warehouse inventory barcode scanner kiosk tablet keyboard monitor docking
bluetooth wifi router switch vpn token oauth saml ldap kerberos sandbox staging cluster replica shard index
vacuum deadlock rollback snapshot archive retention compliance audit gdpr encryption rotation keystore vault
secret quota throttle burst spike regression hotfix patch release rollout canary feature flag toggle
experiment cohort funnel attribution campaign coupon voucher loyalty referral affiliate payout ledger
reconciliation chargeback dispute fraud captcha spam phishing malware quarantine sandboxing heuristics
""".split()  # noqa: SIM905
CUSTOMER_WORDS = "Acme Globex Initech Umbrella Hooli Stark Wayne Wonka Tyrell Cyberdyne Soylent Oscorp".split()  # noqa: SIM905


def pg_url(db: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"


def fresh_postgres(db: str) -> None:
    import psycopg

    with psycopg.connect(c.PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db}")


def vocabulary() -> list[str]:
    """The support words first (the most frequent), then pseudo-words up to ``VOCABULARY`` (a real corpus of
    tickets holds tens of thousands of distinct words, most of them rare)."""
    rng = random.Random(3)
    letters = "abcdefghijklmnopqrstuvwxyz"
    extra = {"".join(rng.choices(letters, k=rng.randint(5, 9))) for _ in range(VOCABULARY)}
    return [*WORDS, *sorted(extra - set(WORDS))][:VOCABULARY]


class Text:
    """Zipf-like word draws over the vocabulary (fast: a precomputed cumulative table)."""

    def __init__(self, rng: random.Random, words: list[str]) -> None:
        self.rng = rng
        self.vocabulary = words
        self.cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))

    def words(self, n: int) -> str:
        return " ".join(self.rng.choices(self.vocabulary, cum_weights=self.cumulative, k=n))


async def seed(url: str, n: int, n_open: int, agent_id: int) -> float:
    """Customers, tickets, one message per ticket, SLA clocks for the open ones; returns seconds taken."""
    from sqlalchemy import insert, select, text
    from sqlmodel import col

    import router.models  # noqa: F401  (every table, so foreign keys resolve)
    from router.db import make_engine
    from router.models.columns import utcnow
    from router.models.customers import Customer
    from router.models.sla import SlaClock
    from router.models.tickets import Message, Ticket

    rng = random.Random(17)
    words = Text(rng, vocabulary())
    now = utcnow()
    engine = make_engine(url)
    t0 = time.perf_counter()
    try:
        async with engine.begin() as conn:
            customers = [
                {
                    "external_ref": f"C-{i:05d}",
                    "name": f"{CUSTOMER_WORDS[i % len(CUSTOMER_WORDS)]} {i}",
                    "value_tier": i % 4 + 1,
                    "onboarding_tier": i % 4 + 1,
                    "highest_tier": i % 4 + 1,
                    "attributes": {},
                    "created_at": now,
                }
                for i in range(N_CUSTOMERS)
            ]
            await conn.execute(insert(Customer), customers)
            first_customer = (await conn.execute(select(col(Customer.id)).order_by(col(Customer.id)))).scalars().first()
        open_every = max(1, n // max(1, n_open))
        for start in range(0, n, BATCH):
            tickets: list[dict[str, Any]] = []
            for i in range(start, min(n, start + BATCH)):
                is_open = i % open_every == 0 and i // open_every < n_open
                customer = _customer_of(i)
                created = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
                status = (
                    rng.choice(["queued", "queued", "in_progress"]) if is_open else rng.choice(["resolved", "closed"])
                )
                tickets.append(
                    {
                        "ref": f"T-{i + 1:06d}",
                        "subject": words.words(rng.randint(3, 8)).capitalize(),
                        "status": status,
                        "support_tier": rng.choice([0, 1, 1, 1, 2, 2, 3, 4]),
                        "priority": rng.choice(c.QUEUE_PRIORITIES),
                        "requester_email": f"user{i % 50_000}@cust{customer}.example.com",
                        "customer_id": (first_customer or 1) + customer,
                        "customer_tier": customer % 4 + 1,
                        "assignee_id": agent_id if status == "in_progress" and rng.random() < 0.02 else None,
                        "channel": "api",
                        "source": "bench",
                        "tags": ["vip"] if rng.random() < 0.05 else [],
                        "escalation_count": 0,
                        "reopen_count": 0,
                        "created_at": created,
                        "updated_at": created,
                        "audit_seq": 0,
                        "audit_head": "",
                    }
                )
            async with engine.begin() as conn:
                ids = (await conn.execute(insert(Ticket).returning(col(Ticket.id)), tickets)).scalars().all()
                messages = [
                    {
                        "ticket_id": tid,
                        "direction": "inbound",
                        "kind": "message",
                        "author": t["requester_email"],
                        "body_text": words.words(rng.randint(20, 80)),
                        "created_at": t["created_at"],
                    }
                    for tid, t in zip(ids, tickets, strict=True)
                ]
                await conn.execute(insert(Message), messages)
                clocks = [
                    {
                        "ticket_id": tid,
                        "kind": "resolution",
                        "policy": "default",
                        "support_tier": t["support_tier"],
                        "state": rng.choice(["ok", "ok", "ok", "warning", "breached"]),
                        "target_seconds": 8 * 3600,
                        "started_at": t["created_at"],
                        "tier_started_at": t["created_at"],
                        "running_since": t["created_at"],
                        "due_at": now + timedelta(seconds=rng.randrange(-86_400, 86_400)),
                        "updated_at": now,
                    }
                    for tid, t in zip(ids, tickets, strict=True)
                    if t["status"] in ("queued", "in_progress")
                ]
                if clocks:
                    await conn.execute(insert(SlaClock), clocks)
            if (start // BATCH) % 10 == 9:
                print(f"  {start + BATCH:,} tickets in {time.perf_counter() - t0:.0f}s", flush=True)
        if engine.dialect.name == "postgresql":
            # What autovacuum does to a table that has lived a while: statistics, and the visibility map
            # that lets a count read the index alone. A freshly loaded table has neither.
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()
    return time.perf_counter() - t0


class GcPauses:
    """Python's garbage collections while the requests ran, by generation: a full collection of a large heap
    stops the process for tens of milliseconds, which a latency percentile counts as the query's."""

    def __init__(self) -> None:
        self.started = 0.0
        self.by_generation: dict[int, list[float]] = {0: [], 1: [], 2: []}

    def callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.by_generation[info["generation"]].append(time.perf_counter() - self.started)

    def report(self) -> str:
        parts = []
        for generation, pauses in self.by_generation.items():
            worst = max(pauses, default=0.0) * 1000
            parts.append(
                f"gen {generation}: {len(pauses)} collections, {sum(pauses) * 1000:.0f} ms, worst {worst:.1f} ms"
            )
        return "garbage collection during the requests: " + "; ".join(parts)


def _customer_of(i: int) -> int:
    """Ticket ``i``'s customer (a fixed spread, so the search queries can name existing pairs)."""
    return (i * 7919) % N_CUSTOMERS


def search_queries(rng: random.Random, n: int) -> dict[str, list[str]]:
    words = vocabulary()
    return {
        # By rank in the vocabulary: with 50 words a ticket, rank 2,000-20,000 is in a few hundredths of a
        # percent to a fraction of a percent of tickets, rank 20-200 in 2-20 %, the first three in most.
        "rare word": [words[rng.randrange(2_000, VOCABULARY)] for _ in range(20)],
        "common word": [words[rng.randrange(20, 200)] for _ in range(20)],
        "very common word": [words[rng.randrange(3)] for _ in range(5)],
        "two words": [f"{words[rng.randrange(200)]} {words[rng.randrange(200, 5_000)]}" for _ in range(20)],
        "customer name": [f"{CUSTOMER_WORDS[i % len(CUSTOMER_WORDS)]} {i}" for i in rng.sample(range(N_CUSTOMERS), 20)],
        "requester address": [
            f"user{i % 50_000}@cust{_customer_of(i)}.example.com" for i in rng.sample(range(n), min(n, 20))
        ],
    }


VIEWS = {
    "tier 1 open, by priority": "support_tier=1&status=queued&status=in_progress&sort=priority",
    "customer tier 1 open, oldest first": "customer_tier=1&status=queued&status=in_progress&sort=oldest",
    "SLA breached, due soonest": "sla=breached&status=queued&status=in_progress&sort=sla_due",
    "tag vip, open": "tag=vip&status=queued&status=in_progress",
    "my open tickets": "assignee=me&status=queued&status=in_progress&sort=sla_due",
    "urgent or high, tier 2, updated": "priority=urgent&priority=high&support_tier=2&status=queued&sort=updated",
}


async def timed(
    client: httpx.AsyncClient, path: str, token: str, params: dict[str, Any] | None = None
) -> tuple[float, dict[str, Any]]:
    t = time.perf_counter()
    r = await client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - t
    if r.status_code != 200:
        raise RuntimeError(f"{path} answered {r.status_code}: {r.text[:300]}")
    return elapsed, r.json()


async def measure(args: argparse.Namespace, url: str, data_dir: Path) -> tuple[list[list[object]], list[list[object]]]:
    from queues.runtime import open_runtime
    from router import heap
    from router.agents import service as agents
    from router.app import create_app
    from router.settings import Settings
    from router.unit_of_work import commit

    settings = Settings(database_url=url, redis_url=args.redis_url, data_dir=data_dir)
    async with open_runtime(settings) as runtime:
        async with runtime.app.sessionmaker() as session:
            if args.reuse:
                agent = await agents.by_email(session, AGENT_EMAIL)
                lead = await agents.by_email(session, LEAD_EMAIL)
            else:
                agent = await agents.add_agent(
                    session, name="Bench Agent", email=AGENT_EMAIL, role="agent", tiers=(1, 2)
                )
                lead = await agents.add_agent(session, name="Bench Lead", email=LEAD_EMAIL, role="lead", tiers=())
            tokens = {
                "agent": await agents.issue_token(session, agent),
                "lead": await agents.issue_token(session, lead),
            }
            await commit(session, runtime.app.effects)
        assert agent.id is not None
        if not args.reuse:
            seconds = await seed(url, args.tickets, args.open, agent.id)
            print(
                f"bulk insert of {args.tickets:,} tickets ({args.open:,} open), messages, clocks: {seconds:.1f}s",
                flush=True,
            )
        if args.seed_only:
            return [], []

        app = create_app(settings, lambda _s: None)  # type: ignore[arg-type,return-value]
        app.state.ctx = runtime.app
        if not args.no_freeze:  # as the app's lifespan does in a server (ASGITransport runs no lifespan)
            heap.freeze_startup_heap()
        pauses = GcPauses()
        gc.callbacks.append(pauses.callback)
        rng = random.Random(5)
        search_rows: list[list[object]] = []
        view_rows: list[list[object]] = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for who in ("agent", "lead"):
                every: list[float] = []
                for label, queries in search_queries(rng, args.tickets).items():
                    samples: list[float] = []
                    matches = 0
                    for i in range(args.warmup + args.repeat):
                        q = queries[i % len(queries)]
                        elapsed, body = await timed(
                            client, f"/api/v1/tickets?limit=25&q={httpx.QueryParams({'q': q})['q']}", tokens[who]
                        )
                        if i >= args.warmup:
                            samples.append(elapsed)
                            matches += body["total"]
                    every += samples
                    s = c.summary_ms(samples)
                    search_rows.append(
                        [who, label, s["n"], matches // len(samples), s["p50"], s["p90"], s["p99"], s["max"]]
                    )
                s = c.summary_ms(every)
                search_rows.append([who, "ALL", s["n"], "", s["p50"], s["p90"], s["p99"], s["max"]])
            for label, query in VIEWS.items():
                for depth in (1, 20):
                    path = f"/api/v1/tickets?limit=50&{query}"
                    cursor_path = path
                    for _ in range(depth - 1):  # the cursor of page ``depth``
                        _, body = await timed(client, cursor_path, tokens["agent"])
                        if body["next_cursor"] is None:
                            break
                        cursor_path = f"{path}&cursor={body['next_cursor']}"
                    samples = []
                    total = 0
                    for i in range(args.warmup + args.repeat):
                        elapsed, body = await timed(client, cursor_path, tokens["agent"])
                        if i >= args.warmup:
                            samples.append(elapsed)
                            total = body["total"]
                    s = c.summary_ms(samples)
                    view_rows.append([label, depth, s["n"], total, s["p50"], s["p90"], s["p99"], s["max"]])
        gc.callbacks.remove(pauses.callback)
        print(pauses.report(), flush=True)
    return search_rows, view_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/15", help="the runtime needs one; nothing is queued"
    )
    parser.add_argument("--wait-quiet", type=float, default=60, help="wait up to this long for an idle machine")
    parser.add_argument("--db", default=PG_DB, help="the PostgreSQL database (dropped and made anew unless --reuse)")
    parser.add_argument(
        "--no-freeze", action="store_true", help="leave the start-up heap in full garbage collections (router/heap.py)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--seed-only", action="store_true", help="build the database, measure nothing")
    mode.add_argument("--reuse", action="store_true", help="measure the database a --seed-only run left")
    args = parser.parse_args()
    if not 0 < args.open <= args.tickets:
        parser.error("--open must be between 1 and --tickets")
    if args.backend == "sqlite" and (args.seed_only or args.reuse):
        parser.error("--seed-only and --reuse are for PostgreSQL")

    print(f"=== workspace: {args.tickets:,} tickets, {args.open:,} open, {args.backend} ===", flush=True)
    print(c.code_version(), flush=True)
    data_dir = c.fresh_dir("workspace")
    if args.backend == "postgres":
        if not args.reuse:
            fresh_postgres(args.db)
        url = pg_url(args.db)
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    if not args.seed_only:
        print(c.wait_quiet(args.wait_quiet), flush=True)
    search_rows, view_rows = asyncio.run(measure(args, url, data_dir))
    if args.seed_only:
        print(f"seeded {args.db}; measure it with --reuse --db {args.db}", flush=True)
        return
    c.print_table(
        f"search, GET /api/v1/tickets?q= (ms, server side over ASGI), {args.tickets:,} tickets; {args.backend}",
        ["as", "query", "n", "matches", "p50", "p90", "p99", "max"],
        search_rows,
    )
    c.print_table(
        f"filtered views, GET /api/v1/tickets (ms), {args.open:,} open tickets; {args.backend}",
        ["view", "page", "n", "matches", "p50", "p90", "p99", "max"],
        view_rows,
    )
    search_p99 = max(float(str(r[6])) for r in search_rows if r[1] == "ALL")
    view_p99 = max(float(str(r[6])) for r in view_rows)
    for name, worst, target in (("search", search_p99, SEARCH_TARGET_MS), ("views", view_p99, VIEW_TARGET_MS)):
        verdict = "met" if worst <= target else f"MISSED by {worst - target:.1f} ms"
        print(f"target {name} p99 <= {target:.0f} ms: worst {worst:.2f} ms -> {verdict}", flush=True)


if __name__ == "__main__":
    main()
