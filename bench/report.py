"""Time the SLA report over 1,000,000 tickets and ~3,300,000 audit events in PostgreSQL.

The data is generated inside PostgreSQL with ``INSERT ... SELECT generate_series`` (seconds, no Python
loops) into its own database ``tierroute_bench_report``, migrated to head, then ANALYZEd. The report is
the one the API serves (``router.reports.service.sla_report``) over the whole 180-day window, so every
ticket is in every aggregate. The database is dropped at the end.

    python bench/report.py [--tickets 1000000] [--runs 5] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine
from sqlalchemy.dialects import postgresql

from router.db import make_engine, make_sessionmaker, migrate
from router.reports import facts, rollups, service

ADMIN_DSN = "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
DB = "tierroute_bench_report"
DSN = f"host=127.0.0.1 port=5432 dbname={DB} user=postgres"
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}"
END = datetime(2026, 11, 23, tzinfo=UTC)
DAYS = 180
ZERO = "0" * 64
PG = postgresql.psycopg.dialect()

# Per ticket: the routed tier r0 (0-4), escalations e (0, 1 or 2, never above tier 4), the cause of each,
# resolved (90 %), reopened (3 %), first response and resolution in business seconds.
PLAN = f"""
CREATE UNLOGGED TABLE plan AS
SELECT i AS id,
       1 + (i %% %(customers)s) AS customer_id,
       r0, e, (rnd_cause < 0.4) AS by_sla, resolved, reopened,
       created_at,
       created_at + (rnd_res * rnd_res * interval '96 hours') AS resolved_at,
       (rnd_fr * rnd_fr * 14400)::float8 AS fr_seconds,
       (rnd_res * rnd_res * 57600)::float8 AS res_seconds
FROM (
  SELECT i,
         CASE WHEN a < 0.05 THEN 0 WHEN a < 0.65 THEN 1 WHEN a < 0.90 THEN 2 WHEN a < 0.98 THEN 3 ELSE 4 END AS r0,
         CASE WHEN b < 0.70 THEN 0 WHEN b < 0.92 THEN 1 ELSE 2 END AS e0,
         c AS rnd_cause, d < 0.90 AS resolved, f < 0.03 AS reopened, g AS rnd_fr, h AS rnd_res,
         TIMESTAMPTZ '{END.isoformat()}' - (k * interval '{DAYS} days') AS created_at
  FROM (SELECT i, random() a, random() b, random() c, random() d, random() f, random() g, random() h, random() k
        FROM generate_series(1, %(tickets)s) i) r
) s, LATERAL (SELECT least(e0, 4 - r0) AS e) x;
"""

CUSTOMERS = """
INSERT INTO customer (id, external_ref, name, value_tier, onboarding_tier, highest_tier, attributes, created_at)
SELECT i, 'c' || i, 'Customer ' || i, t, t, t, '{}'::jsonb, now()
FROM (SELECT i, CASE WHEN i %% 20 = 0 THEN 1 WHEN i %% 20 < 4 THEN 2 WHEN i %% 20 < 11 THEN 3 ELSE 4 END AS t
      FROM generate_series(1, %(customers)s) i) s;
"""

TICKETS = f"""
INSERT INTO ticket (id, ref, subject, status, support_tier, priority, requester_email, customer_id, customer_tier,
                    channel, source, tags, escalation_count, reopen_count, auto_reply_suppressed, created_at,
                    updated_at, resolved_at, audit_seq, audit_head)
SELECT p.id, 'T-' || p.id, 'bench ticket', CASE WHEN p.resolved THEN 'resolved' ELSE 'queued' END, p.r0 + p.e,
       (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + p.id % 5], 'user' || p.id || '@bench.example',
       p.customer_id, c.value_tier, 'api', 'api', '[]'::jsonb, p.e, p.reopened::int, false, p.created_at,
       p.created_at, CASE WHEN p.resolved THEN p.resolved_at END, 0, '{ZERO}'
FROM plan p JOIN customer c ON c.id = p.customer_id;
"""

# created (seq 1), routed (2), one event per escalation (3, 4), vendor handoff on reaching tier 4,
# resolved last (for reopened tickets: resolved, reopened, resolved).
EVENTS = f"""
INSERT INTO audit_event (ticket_id, seq, at, actor, action, from_tier, to_tier, reason, data, prev_hash, hash)
SELECT id, seq, at, actor, action, from_tier, to_tier, NULL, data, '{ZERO}', '{ZERO}' FROM (
  SELECT id, 1 AS seq, created_at AS at, 'system' AS actor, 'created' AS action, NULL::int AS from_tier,
         NULL::int AS to_tier, '{{}}'::jsonb AS data FROM plan
  UNION ALL
  SELECT id, 2, created_at + interval '2 seconds', 'rule:rule-' || (id % 12), 'routed', NULL, r0,
         jsonb_build_object('rules', jsonb_build_array('rule-' || (id % 12))) FROM plan
  UNION ALL
  SELECT p.id, 2 + k, p.created_at + k * interval '30 minutes', CASE WHEN p.by_sla THEN 'sla' ELSE 'agent:1' END,
         'escalated', p.r0 + k - 1, p.r0 + k,
         jsonb_build_object('cause', CASE WHEN p.by_sla THEN 'sla' ELSE 'agent' END)
  FROM plan p, generate_series(1, p.e) k
  UNION ALL
  SELECT id, 3 + e, created_at + e * interval '30 minutes' + interval '1 second', 'system', 'vendor_handoff', NULL, 4,
         '{{}}'::jsonb FROM plan WHERE r0 + e = 4
  UNION ALL
  SELECT id, 4 + e, greatest(resolved_at, created_at + e * interval '30 minutes' + interval '2 seconds'), 'agent:1',
         'resolved', r0 + e, r0 + e, '{{}}'::jsonb FROM plan WHERE resolved
) ev;
"""

CLOCKS = """
INSERT INTO sla_clock (ticket_id, kind, policy, support_tier, state, target_seconds, consumed_seconds,
                       total_seconds, started_at, tier_started_at, running_since, due_at, stopped_at, breached_at,
                       breaches, generation, updated_at)
SELECT id, kind, 'office', r0 + e, state, target, secs, secs, created_at, created_at,
       CASE WHEN stopped IS NULL THEN created_at END, created_at + target * interval '1 second', stopped,
       CASE WHEN secs > target THEN created_at + target * interval '1 second' END,
       (secs > target)::int, 1, created_at
FROM (
  SELECT p.*, k.kind, k.target,
         CASE k.kind WHEN 'first_response' THEN p.fr_seconds ELSE p.res_seconds END AS secs,
         CASE WHEN k.kind = 'first_response' OR p.resolved THEN
              p.created_at + CASE k.kind WHEN 'first_response' THEN p.fr_seconds ELSE p.res_seconds END
                             * interval '1 second' END AS stopped,
         CASE WHEN (CASE k.kind WHEN 'first_response' THEN p.fr_seconds ELSE p.res_seconds END) > k.target
              THEN 'breached' WHEN k.kind = 'first_response' OR p.resolved THEN 'met' ELSE 'ok' END AS state
  FROM plan p, (VALUES ('first_response', 3600), ('resolution', 28800)) k(kind, target)
) c;
"""


def timed(conn: psycopg.Connection, label: str, sql: str, params: dict[str, int] | None = None) -> None:
    start = time.perf_counter()
    cur = conn.execute(sql, params)  # type: ignore[arg-type]
    print(f"  {label:<34} {cur.rowcount:>10,} rows  {time.perf_counter() - start:6.1f} s", flush=True)


#: Secondary indexes are dropped for the bulk load and rebuilt after it (a standard bulk-load step; the
#: rebuilt indexes are exactly the migrated ones, definitions read back from pg_indexes).
SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename IN ('ticket', 'audit_event', 'sla_clock', 'report_ticket')
  AND indexname NOT IN (SELECT conname FROM pg_constraint)
"""


def generate(tickets: int) -> None:
    customers = max(100, tickets // 50)
    params = {"tickets": tickets, "customers": customers}
    with psycopg.connect(DSN, autocommit=True) as conn:
        indexes = conn.execute(SECONDARY_INDEXES).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("SELECT setseed(0.42)")
        timed(conn, "plan (random draws)", PLAN, params)
        timed(conn, "customers", CUSTOMERS, params)
        timed(conn, "tickets", TICKETS)
        timed(conn, "audit events", EVENTS)
        timed(conn, "sla clocks", CLOCKS)
        conn.execute("DROP TABLE plan")
        start = time.perf_counter()
        # The report's per-ticket facts, computed from the generated tickets, events and clocks by the same
        # statement the app runs per change (and `tierroute report rebuild` for all).
        insert = facts.refresh_statements("postgresql")[1]
        conn.execute(str(insert.compile(dialect=PG, compile_kwargs={"literal_binds": True})))
        print(f"  {'report facts (rebuild)':<34} {'':>15}  {time.perf_counter() - start:6.1f} s", flush=True)
        start = time.perf_counter()
        # Their per-day and per-week roll-ups, by the statements `tierroute report rebuild` runs.
        engine = create_engine(URL)
        with engine.begin() as connection:
            for statement in rollups.refresh_statements("postgresql"):
                connection.execute(statement)
        engine.dispose()
        print(f"  {'report roll-ups (rebuild)':<34} {'':>15}  {time.perf_counter() - start:6.1f} s", flush=True)
        start = time.perf_counter()
        for _, definition in indexes:
            conn.execute(definition)
        print(f"  {f'rebuild {len(indexes)} secondary indexes':<34} {'':>15}  {time.perf_counter() - start:6.1f} s")
        for table in ("customer", "ticket", "audit_event", "sla_clock"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        start = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"  {'VACUUM ANALYZE':<34} {'':>15}  {time.perf_counter() - start:6.1f} s", flush=True)


async def run_report() -> tuple[float, dict[str, float]]:
    """One full report on a fresh engine (a new connection); seconds in total and per section."""
    engine = make_engine(URL)
    sections: dict[str, float] = {}
    try:
        async with make_sessionmaker(engine)() as session:
            f = service.make_filters(END - timedelta(days=DAYS + 1), END + timedelta(days=1), now=END)
            start = last = time.perf_counter()

            def tick(name: str) -> None:
                nonlocal last
                now = time.perf_counter()
                sections[name] = now - last
                last = now

            report = await service.sla_report(session, f, tick)
            total = time.perf_counter() - start
            assert report.totals.tickets_in > 0
            return total, sections
    finally:
        await engine.dispose()


def mark_dirty(days: list[date]) -> list[int]:
    """Mark ``days`` as changed since the last roll-up refresh; returns the marks' ids."""
    with psycopg.connect(DSN, autocommit=True) as conn:
        rows = [
            conn.execute("INSERT INTO report_dirty_day (day) VALUES (%s) RETURNING id", (d,)).fetchone() for d in days
        ]
    return [row[0] for row in rows if row is not None]


def unmark(ids: list[int]) -> None:
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute("DELETE FROM report_dirty_day WHERE id = ANY(%s)", (ids,))


async def refresh_rollups() -> None:
    """What the roll-ups' cron job (``queues.jobs.refresh_report_rollups``) does."""
    engine = make_engine(URL)
    try:
        async with make_sessionmaker(engine)() as session:
            await rollups.refresh(await session.connection())
            await session.commit()
    finally:
        await engine.dispose()


def explain(label: str, sql: str, *settings: str) -> None:
    with psycopg.connect(DSN) as conn:
        for setting in ("SET work_mem = '256MB'", "SET jit = off", *settings):
            conn.execute(setting)
        plan = conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql).fetchall()
    print(f"\nEXPLAIN ANALYZE {label}:")
    for (line,) in plan:
        print("   ", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time the report on a database kept by --keep")
    args = parser.parse_args()

    if not args.reuse:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {DB}")
    try:
        if not args.reuse:
            migrate(URL)
            print(f"generating {args.tickets:,} tickets in PostgreSQL database {DB}")
            start = time.perf_counter()
            generate(args.tickets)
            print(f"  generated in {time.perf_counter() - start:.1f} s")
        with psycopg.connect(DSN) as conn:
            counts = {
                t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                for t in ("ticket", "audit_event", "sla_clock", "customer")
            }
        print("  " + ", ".join(f"{t}: {n:,}" for t, n in counts.items()))

        # Live operation: today's and yesterday's tickets changed since the cron job's last refresh, so those
        # days (and their weeks) are read from the facts, the rest from the roll-ups.
        live_marks = mark_dirty([(END - timedelta(days=d)).date() for d in (1, 2)])
        runs = [asyncio.run(run_report()) for _ in range(args.runs + 1)]
        cold, warm = runs[0], runs[1:]
        totals = sorted(t for t, _ in warm)
        print(f"\nSLA report over {counts['ticket']:,} tickets / {counts['audit_event']:,} audit events:")
        print("  (roll-ups fresh but for the last two days, as between two runs of the refresh job)")
        print(f"  cold (first run after ANALYZE): {cold[0]:.2f} s")
        print(f"  warm: p50 {statistics.median(totals):.2f} s, min {totals[0]:.2f} s, max {totals[-1]:.2f} s")
        print("  per section (warm p50):")
        for name in service.SECTIONS:
            print(f"    {name:<16} {statistics.median(s[name] for _, s in warm):6.2f} s")
        verdict = "met" if statistics.median(totals) <= 3.0 else "MISSED"
        print(f"  target <= 3 s (warm p50): {verdict}")

        # The worst case: every day marked (say right after a bulk repair, before the refresh job ran), so
        # the whole report is read from the facts.
        all_marks = mark_dirty([(END - timedelta(days=d)).date() for d in range(DAYS + 2)])
        facts_only = sorted(asyncio.run(run_report())[0] for _ in range(3))
        print(f"  every day dirty (facts only): p50 {statistics.median(facts_only):.2f} s of 3 runs")
        unmark(live_marks + all_marks)

        start = time.perf_counter()
        mark_dirty([(END - timedelta(days=d)).date() for d in (1, 2)])
        asyncio.run(refresh_rollups())
        print(f"  the refresh job recomputing two dirty days: {time.perf_counter() - start:.2f} s")
        explain(
            "a duration histogram (index-only scan in (cell, bucket) order, no hashing)",
            "SELECT cell, fr_business_b, count(*) FROM report_ticket WHERE created_at >= now() - interval '400 days' "
            "AND fr_business_b IS NOT NULL GROUP BY 1, 2",
            "SET enable_hashagg = off",
        )
        explain(
            "breach trend (ix_audit_event_action_at)",
            "SELECT date_trunc('day', at), count(*) FROM audit_event WHERE action = 'sla_breached' "
            "AND at >= now() - interval '30 days' GROUP BY 1",
        )
    finally:
        if not args.keep:
            with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            print(f"\ndropped database {DB}")


if __name__ == "__main__":
    main()
