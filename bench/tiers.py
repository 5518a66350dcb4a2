"""Time a tier review of 100,000 customers with a year of monthly metrics on PostgreSQL (issue 18: ≤ 10 s).

The customers and their metrics (twelve months' revenue and the gross margin every month, the support
cost tierroute measured for a third of them, a growth rating each quarter: ~3.2 million rows at full size)
are generated inside PostgreSQL with ``INSERT ... SELECT generate_series`` into a database of their own,
``tierroute_bench_tiers``, migrated to head, then ANALYZEd. The review is the one ``tierroute tiers score``
runs (``router.customers.review``) with the shipped policy (``rules/tiers.yaml``): a dry run (scoring only,
``--runs`` times), then ``--apply`` (the moves through ``tiering.retier_many``: history, audit, two events
each; the slips held back by the hysteresis remembered), then ``--apply`` again in the same period
(nothing more to do), then the quarterly review report of every customer (``tierroute report tiers``). The
command line itself is timed once each way too (process start, imports and the
progress bar included). The database is dropped at the end unless ``--keep``.

    python bench/tiers.py [--customers 100000] [--runs 3] [--keep]
    python bench/tiers.py --small      # 2,000 customers: checks the script runs
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router.customers import review
from router.customers.quarter_review import tier_review_report
from router.customers.review_schemas import TierReviewReport
from router.db import make_engine, make_sessionmaker, migrate
from rules.review_periods import parse_period
from rules.tier_loader import load_tier_policy
from rules.vocabulary import DEFAULT_SCALE, use_customer_scale

REPO = Path(__file__).resolve().parents[1]
ADMIN_DSN = "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
DB = "tierroute_bench_tiers"
DSN = f"host=127.0.0.1 port=5432 dbname={DB} user=postgres"
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}"
REDIS_URL = "redis://127.0.0.1:6379/14"
DATA_DIR = Path("/tmp/tierroute-bench/tiers")
PERIOD = "2026Q4"  # reads the twelve months 2025-10 .. 2026-09

# A size per customer decides its revenue (most customers are small: a bottom-heavy base); one in fifty is
# strategic (a bump). Every customer starts at tier 3; ``settle`` then gives each the tier the policy
# proposes for it, as a previous review would have, and moves one in ten to another tier (the review moves
# those back: rises at once, slips held back by the hysteresis).
CUSTOMERS = """
CREATE UNLOGGED TABLE size AS
SELECT i AS id, (random() * random() * 30000)::float8 AS monthly FROM generate_series(1, {customers}) i;
INSERT INTO customer (id, external_ref, name, value_tier, onboarding_tier, highest_tier, attributes, created_at)
SELECT id, 'c' || id, 'Customer ' || id, 3, 3, 3,
       CASE WHEN id % 50 = 0 THEN '{{"strategic": true}}'::jsonb ELSE '{{}}'::jsonb END, now()
FROM size;
"""
SETTLED = """
CREATE TEMPORARY TABLE settled (id int PRIMARY KEY, tier int);
COPY settled (id, tier) FROM STDIN;
UPDATE customer c SET value_tier = CASE WHEN random() < 0.1 THEN 1 + floor(random() * 4)::int ELSE s.tier END
FROM settled s WHERE s.id = c.id;
UPDATE customer SET onboarding_tier = value_tier, highest_tier = value_tier;
INSERT INTO customer_tier_change (customer_id, from_tier, to_tier, reason, at, source, actor)
SELECT id, NULL, value_tier, 'onboarding', now(), 'import', 'cli' FROM customer;
ANALYZE;
"""
MONTHS = "SELECT to_char(DATE '2025-10-01' + m * interval '1 month', 'YYYY-MM') AS period FROM generate_series(0, 11) m"
METRICS = f"""
INSERT INTO customer_metric (customer_id, period, metric, value, source, recorded_at)
SELECT s.id, m.period, 'revenue_12m', round((12 * s.monthly * (0.9 + random() * 0.2))::numeric, 2), 'billing', now()
FROM size s, ({MONTHS}) m;
INSERT INTO customer_metric (customer_id, period, metric, value, source, recorded_at)
SELECT s.id, m.period, 'gross_margin', round((0.1 + random() * 0.5)::numeric, 3), 'finance', now()
FROM size s, ({MONTHS}) m;
INSERT INTO customer_metric (customer_id, period, metric, value, source, recorded_at)
SELECT s.id, m.period, 'support_cost', round((random() * 900)::numeric, 2), 'tierroute', now()
FROM size s, ({MONTHS}) m WHERE s.id % 3 = 0;
INSERT INTO customer_metric (customer_id, period, metric, value, source, recorded_at)
SELECT s.id, m.period, 'growth_potential', 1 + floor(random() * 5), 'crm', now()
FROM size s, ({MONTHS}) m WHERE right(m.period, 2) IN ('03', '06', '09', '12');
DROP TABLE size;
"""


def create_database(customers: int) -> float:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB}")
        conn.execute(f"CREATE DATABASE {DB}")
    migrate(URL)
    started = time.perf_counter()
    with psycopg.connect(DSN, autocommit=True) as conn:
        for statement in [*CUSTOMERS.format(customers=int(customers)).split(";\n"), *METRICS.split(";\n")]:
            if statement.strip():
                conn.execute(statement.encode())
        conn.execute("SELECT setval('customer_id_seq', (SELECT max(id) FROM customer))")
        conn.execute("ANALYZE")
    return time.perf_counter() - started


async def settle() -> None:
    """Every customer at the tier the policy proposes for it (a dry run), then one in ten moved away."""
    proposed: list[tuple[int, int]] = []
    policy = load_tier_policy(REPO / "rules" / "tiers.yaml")
    engine = make_engine(URL)
    try:
        async with make_sessionmaker(engine)() as session:
            period = parse_period(PERIOD, "quarterly")
            await review.review(
                session, policy, period, apply=False, each=lambda o: proposed.append((o.customer_id, o.proposed))
            )
    finally:
        await engine.dispose()
    create, copy, *rest = [part for part in SETTLED.split(";\n") if part.strip()]
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(create.encode())
        with conn.cursor().copy(copy.encode()) as pipe:
            for row in proposed:
                pipe.write_row(row)
        for statement in rest:
            conn.execute(statement.encode())


def count(sql: str) -> int:
    with psycopg.connect(DSN) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


async def timed_review(apply: bool) -> tuple[float, review.ReviewReport]:
    """One review as ``tierroute tiers score`` runs it, in one transaction, committed (the policy is read
    before the clock starts, as the command reads it before the review)."""
    policy = load_tier_policy(REPO / "rules" / "tiers.yaml")
    use_customer_scale(policy.scale)
    engine = make_engine(URL)
    try:
        started = time.perf_counter()
        async with make_sessionmaker(engine)() as session:
            report = await review.review(session, policy, parse_period(PERIOD, "quarterly"), apply=apply, by=None)
            await session.commit()
        return time.perf_counter() - started, report
    finally:
        await engine.dispose()
        use_customer_scale(DEFAULT_SCALE)


async def timed_quarter_report() -> tuple[float, TierReviewReport]:
    """The quarterly tier review of every customer (``tierroute report tiers``), after the review applied."""
    policy = load_tier_policy(REPO / "rules" / "tiers.yaml")
    use_customer_scale(policy.scale)
    engine = make_engine(URL)
    try:
        started = time.perf_counter()
        async with make_sessionmaker(engine)() as session:
            found = await tier_review_report(session, parse_period(PERIOD, "quarterly"), policy.scale, policy.costs)
        return time.perf_counter() - started, found
    finally:
        await engine.dispose()
        use_customer_scale(DEFAULT_SCALE)


def timed_cli(*args: str) -> float:
    """``tierroute tiers score ARGS`` as a person runs it (its events' publish effects go to Redis DB 14)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TIERROUTE_DATABASE_URL": URL, "TIERROUTE_REDIS_URL": REDIS_URL}
    env["TIERROUTE_DATA_DIR"] = str(DATA_DIR)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "router.cli", "tiers", "score", "--period", PERIOD, *args],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tierroute tiers score {' '.join(args)} failed:\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="2,000 customers, one run: check the script runs")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    customers, runs = (2_000, 1) if args.small else (args.customers, args.runs)

    seeding = create_database(customers)
    started = time.perf_counter()
    asyncio.run(settle())
    seeding += time.perf_counter() - started
    rows = count("SELECT count(*) FROM customer_metric")
    print(f"seeded {customers:,} customers and {rows:,} metric rows in {seeding:.1f} s")
    try:
        dry = [asyncio.run(timed_review(apply=False)) for _ in range(runs)]
        report = dry[-1][1]
        times = sorted(t for t, _ in dry)
        print(
            f"dry run:   {times[len(times) // 2]:.2f} s median of {runs} (best {times[0]:.2f} s): "
            f"{report.scored:,} scored, {len(report.movers):,} would move, {len(report.held):,} held back"
        )
        cli_dry = timed_cli("--dry-run")
        applied_s, applied = asyncio.run(timed_review(apply=True))
        print(
            f"apply:     {applied_s:.2f} s: {len(applied.moved):,} moved (history, audit, "
            f"{count('SELECT count(*) FROM outbox_event'):,} events), {len(applied.held):,} held back and remembered"
        )
        again_s, again = asyncio.run(timed_review(apply=True))
        print(f"re-apply:  {again_s:.2f} s (the same period: {len(again.moved):,} moved)")
        report_s, quarter = asyncio.run(timed_quarter_report())
        b = quarter.bottom_heavy
        print(
            f"quarterly review report: {report_s:.2f} s: {len(quarter.customers):,} customers, "
            f"{quarter.slipped:,} slipped, {quarter.risen:,} rose, bottom share of customers {b.customers_share}"
        )
        cli_apply = timed_cli("--apply")
        print(
            f"command line, process start included: --dry-run {cli_dry:.2f} s, --apply (nothing left) {cli_apply:.2f} s"
        )
        verdict = "within" if max(times[len(times) // 2], applied_s, report_s) <= 10 else "OVER"
        print(f"target ≤ 10 s per review on PostgreSQL: {verdict}")
    finally:
        if not args.keep:
            with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
