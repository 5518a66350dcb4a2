"""Time cost to serve (``router.customers.cost.cost_to_serve``) over 100,000 customers and a year of tickets.

Each customer has ``--tickets-per-customer`` tickets spread over the year before ``END``; each ticket's
trail is what the ticket service writes, with each event's state: created, routed, claimed, a reply (which
changes nothing), and then resolved; 30 % wait on the customer and resume on the way; 20 % are escalated
(by the SLA or another agent) and claimed again one tier up, or handed to the vendor from tier 3. The data
is generated inside PostgreSQL (``INSERT ... SELECT generate_series``) into its own database
``tierroute_bench_cost``, migrated to head, then ANALYZEd; it is dropped at the end.

Timed: the last quarter and the whole year, for every customer (what a quarterly review and the tier
scoring ask), and a quarter for one customer (a customer page). Target: a few seconds for every customer.

    python bench/cost_to_serve.py [--customers 100000] [--tickets-per-customer 4] [--runs 3] [--keep]
    python bench/cost_to_serve.py --small        # 2,000 customers: checks that it runs
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router.customers.cost import cost_to_serve
from router.db import make_engine, make_sessionmaker, migrate
from rules.tier_costs import CostRates

ADMIN_DSN = "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
DB = "tierroute_bench_cost"
DSN = f"host=127.0.0.1 port=5432 dbname={DB} user=postgres"
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}"
END = datetime(2026, 10, 1, tzinfo=UTC)
ZERO = "0" * 64
RATES = CostRates(per_hour={1: 30, 2: 45, 3: 75}, per_vendor_handoff=120)

# Per ticket: created in the year before END, routed to tier r0 (1-3), claimed by agent a after q minutes,
# held h1 minutes (a reply half way), resolved; or waits (w) and resumes on the way; or is escalated and
# claimed by agent b one tier up (or, from tier 3, handed to the vendor).
PLAN = f"""
CREATE UNLOGGED TABLE plan AS
SELECT i AS id, 1 + (i %% %(customers)s) AS customer_id, 1 + (i %% 3) AS r0,
       1 + (i %% 97) AS a, 1 + ((i * 7) %% 97) AS b, waits, escalated,
       TIMESTAMPTZ '{END.isoformat()}' - k * interval '365 days' AS t0,
       (5 + q * 55)::int AS q, (10 + h * 110)::int AS h1, (30 + w * 600)::int AS w, (10 + h * 50)::int AS h2
FROM (SELECT i, random() k, random() q, random() h, random() w, random() < 0.3 AS waits, random() < 0.2 AS escalated
      FROM generate_series(1, %(tickets)s) i) r;
"""

CUSTOMERS = """
INSERT INTO customer (id, external_ref, name, value_tier, onboarding_tier, highest_tier, attributes, created_at)
SELECT i, 'c' || i, 'Customer ' || i, 1 + i %% 4, 1 + i %% 4, 1 + i %% 4, '{}'::jsonb, now()
FROM generate_series(1, %(customers)s) i;
"""

TICKETS = f"""
INSERT INTO ticket (id, ref, subject, status, support_tier, priority, requester_email, customer_id, customer_tier,
                    channel, source, tags, escalation_count, reopen_count, auto_reply_suppressed, created_at,
                    updated_at, resolved_at, audit_seq, audit_head)
SELECT p.id, 'T-' || p.id, 'bench ticket', 'resolved', p.r0 + p.escalated::int, 'normal',
       'user' || p.id || '@bench.example', p.customer_id, 1 + p.customer_id % 4, 'api', 'api', '[]'::jsonb,
       p.escalated::int, 0, false, p.t0, p.t0, p.t0 + interval '3 days', 0, '{ZERO}'
FROM plan p;
"""


def _state(status: str, assignee: str, tier: str) -> str:
    return (
        f"jsonb_build_object('status', '{status}', 'assignee_id', {assignee}, 'support_tier', {tier}, "
        "'priority', 'normal', 'customer_tier', 1)"
    )


# The minute each event happens at, from t0: claim c = q; reply c + h1/2; wait c + h1/3 .. resume + w; the
# first holding ends at e1 = c + h1 (+ w if it waited); escalation at e1, second claim e1 + q, resolution
# e1 + q + h2 (or e1 without an escalation).
EVENTS = f"""
INSERT INTO audit_event (ticket_id, seq, at, actor, action, from_tier, to_tier, reason, data, prev_hash, hash, state)
SELECT id, row_number() OVER (PARTITION BY id ORDER BY m, k), t0 + m * interval '1 minute', actor, action, NULL,
       NULL, NULL, '{{}}'::jsonb, '{ZERO}', '{ZERO}', state
FROM (
  SELECT id, t0, 0 AS m, 1 AS k, 'system' AS actor, 'created' AS action, {_state("new", "NULL", "NULL")} AS state
  FROM plan
  UNION ALL SELECT id, t0, 0, 2, 'rule:r', 'routed', {_state("queued", "NULL", "r0")} FROM plan
  UNION ALL SELECT id, t0, q, 3, 'agent:' || a, 'claimed', {_state("in_progress", "a", "r0")} FROM plan
  UNION ALL SELECT id, t0, q + h1 / 2, 5, 'agent:' || a, 'replied', {_state("in_progress", "a", "r0")} FROM plan
  UNION ALL SELECT id, t0, q + h1 / 3, 4, 'agent:' || a, 'waiting_on_customer',
                   {_state("waiting_on_customer", "a", "r0")} FROM plan WHERE waits
  UNION ALL SELECT id, t0, q + h1 / 3 + w, 4, 'requester:x', 'resumed', {_state("in_progress", "a", "r0")}
            FROM plan WHERE waits
  UNION ALL SELECT id, t0, q + h1 + CASE WHEN waits THEN w ELSE 0 END, 6, 'agent:' || a, 'resolved',
                   {_state("resolved", "a", "r0")} FROM plan WHERE NOT escalated
  UNION ALL SELECT id, t0, q + h1 + CASE WHEN waits THEN w ELSE 0 END, 6, 'sla', 'escalated',
                   {_state("queued", "NULL", "r0 + 1")} FROM plan WHERE escalated
  UNION ALL SELECT id, t0, 2 * q + h1 + CASE WHEN waits THEN w ELSE 0 END, 7, 'agent:' || b, 'claimed',
                   {_state("in_progress", "b", "r0 + 1")} FROM plan WHERE escalated AND r0 < 3
  UNION ALL SELECT id, t0, 2 * q + h1 + h2 + CASE WHEN waits THEN w ELSE 0 END, 8, 'agent:' || b, 'resolved',
                   {_state("resolved", "b", "r0 + 1")} FROM plan WHERE escalated AND r0 < 3
  UNION ALL SELECT id, t0, q + h1 + CASE WHEN waits THEN w ELSE 0 END, 7, 'system', 'vendor_handoff',
                   {_state("queued", "NULL", "4")} FROM plan WHERE escalated AND r0 = 3
) ev;
"""

SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename IN ('ticket', 'audit_event')
  AND indexname NOT IN (SELECT conname FROM pg_constraint)
"""


def timed(conn: psycopg.Connection, label: str, sql: str, params: dict[str, int] | None = None) -> None:
    start = time.perf_counter()
    cur = conn.execute(sql, params)  # type: ignore[arg-type]
    print(f"  {label:<24} {cur.rowcount:>10,} rows  {time.perf_counter() - start:6.1f} s", flush=True)


def generate(customers: int, tickets: int) -> None:
    params = {"customers": customers, "tickets": tickets}
    with psycopg.connect(DSN, autocommit=True) as conn:
        indexes = conn.execute(SECONDARY_INDEXES).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("SELECT setseed(0.42)")
        timed(conn, "plan (random draws)", PLAN, params)
        timed(conn, "customers", CUSTOMERS, params)
        timed(conn, "tickets", TICKETS)
        timed(conn, "audit events", EVENTS)
        conn.execute("DROP TABLE plan")
        start = time.perf_counter()
        for _, definition in indexes:
            conn.execute(definition)
        print(f"  {f'rebuild {len(indexes)} indexes':<24} {'':>15}  {time.perf_counter() - start:6.1f} s")
        start = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"  {'VACUUM ANALYZE':<24} {'':>15}  {time.perf_counter() - start:6.1f} s", flush=True)


async def measure(start: date, end: date, customer_ids: list[int] | None) -> tuple[float, int, int]:
    """One run on a fresh engine: seconds, customers with a cost, their monthly rows."""
    engine = make_engine(URL)
    try:
        async with make_sessionmaker(engine)() as session:
            began = time.perf_counter()
            found = await cost_to_serve(session, start, end, RATES, customer_ids, now=END)
            return time.perf_counter() - began, len(found), sum(len(m) for m in found.values())
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--tickets-per-customer", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="2,000 customers, one run: checks that it runs")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.small:
        args.customers, args.runs = 2_000, 1
    tickets = args.customers * args.tickets_per_customer

    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    try:
        migrate(URL)
        print(f"generating {args.customers:,} customers, {tickets:,} tickets in PostgreSQL database {DB}")
        generate(args.customers, tickets)
        with psycopg.connect(DSN) as conn:
            events = conn.execute("SELECT count(*) FROM audit_event").fetchone()[0]  # type: ignore[index]
        print(f"  audit events: {events:,}")
        print(f"\ncost to serve, {args.customers:,} customers, {tickets:,} tickets, {events:,} audit events:")
        for label, start, ids in [
            ("last quarter, every customer", date(2026, 7, 1), None),
            ("the whole year, every customer", date(2025, 10, 1), None),
            ("last quarter, one customer", date(2026, 7, 1), [1]),
        ]:
            runs = [asyncio.run(measure(start, END.date(), ids)) for _ in range(args.runs)]
            seconds = sorted(r[0] for r in runs)
            _, customers, rows = runs[0]
            print(
                f"  {label:<32} p50 {statistics.median(seconds):6.2f} s  (min {seconds[0]:.2f}, max "
                f"{seconds[-1]:.2f}; {customers:,} customers, {rows:,} monthly rows)"
            )
    finally:
        if not args.keep:
            with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
