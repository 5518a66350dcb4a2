"""Chaos: tickets posted while the API and the worker are SIGKILLed at random and Redis is wiped once.

``tierroute serve`` and ``tierroute worker`` run as subprocesses on a fresh database (PostgreSQL
``tierroute_bench`` or a SQLite file) and Redis DB 14. A client posts N tickets, each with its own
``external_id``, retrying the same id after any error until it gets a 202 (as a careful sender does).
Meanwhile a chaos task SIGKILLs the API or the worker (its whole process group) every 1-3 s and restarts
it, and once, halfway, flushes Redis. Then everything is restarted, ``tierroute reconcile`` runs, and the
script counts what must all be zero:

* acknowledged but missing: a 202's ticket id that the database does not hold;
* duplicate external ids: two tickets for one ``(source, external_id)``;
* routed twice: a ticket with two ``routed`` audit events;
* queued tickets missing from their tier queue, or present in more than one tier queue;
* broken hash chains (``tierroute audit verify``).

``--backend embedded`` is the default install: ``tierroute up`` (SQLite, embedded Redis, the workers in
a child process) in place of serve + worker. The chaos task then SIGKILLs either all of ``up`` (its whole
process group: the API, the worker child and the embedded Redis server die together, as in a crash of
the machine's service) or only its worker child (``up`` starts it again), and wipes the embedded Redis once.

Usage: python bench/chaos.py [--tickets 2000] [--concurrency 16] [--backend postgres|sqlite|embedded] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

# The repository first: bench/ (on sys.path as the script's folder) must not shadow its packages.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as c
from bench._tickets import ticket_payload, write_customers_csv
from bench.intake import wait_ready


def sigkill(child: c.Child) -> None:
    """The whole process group at once: uvicorn's and arq's children die with it, as in a crash."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.proc.pid, signal.SIGKILL)
    child.proc.wait(timeout=10)


class Cluster:
    """The API and the worker, restartable."""

    def __init__(self, env: dict[str, str], port: int, data_dir: Path) -> None:
        self.env, self.port, self.data_dir = env, port, data_dir
        self.children: dict[str, c.Child] = {}
        self.kills = {"api": 0, "worker": 0}
        self.restarts = 0

    embedded = False

    def start(self, name: str) -> None:
        if self.embedded:  # ``up`` is the API and, in a child process, the worker
            args = ["up", "--port", str(self.port)]
        else:
            args = ["serve", "--port", str(self.port)] if name == "api" else ["worker"]
        self.children[name] = c.start(f"{name}-{self.restarts}", self.env, args, self.data_dir)
        self.restarts += 1

    def kill_and_restart(self, name: str) -> None:
        if self.embedded and name == "worker":  # only up's worker child: up starts it again
            up = self.children["api"]
            for pid in c.pids_in_group(up.proc.pid):
                if "router.cli worker" in c.command_line(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            self.kills[name] += 1
            return
        sigkill(self.children[name])
        self.kills[name] += 1
        self.start(name)

    def embedded_redis(self) -> Any:
        """A client of ``up``'s embedded Redis (only while it runs: this never starts or stops the server)."""
        from queues.connection import EmbeddedRedis

        return EmbeddedRedis(self.data_dir / "data" / "redis" / "tierroute.rdb")

    def flush_redis(self) -> None:
        if not self.embedded:
            c.flush_redis_db14()
            return
        server = self.embedded_redis()
        try:
            server._server.flushall()
        finally:
            server.close()

    def queue_members(self, tiers: range) -> dict[int, set[int]]:
        if not self.embedded:
            return queue_members(tiers)
        server = self.embedded_redis()
        try:
            client = server._server
            return {t: {int(m) for m in client.zrange(f"tierroute:queue:{t}", 0, -1)} for t in tiers}
        finally:
            server.close()

    def stop_all(self) -> None:
        for child in self.children.values():
            print(c.stop(child), flush=True)


async def post_until_acknowledged(
    client: httpx.AsyncClient, payloads: list[dict[str, Any]], concurrency: int, deadline: float
) -> tuple[dict[str, int], int]:
    """external id -> ticket id of every 202; and how many attempts failed (connection refused, 5xx)."""
    acknowledged: dict[str, int] = {}
    failures = 0
    queue = list(payloads)

    async def sender() -> None:
        nonlocal failures
        while queue and time.monotonic() < deadline:
            payload = queue.pop()
            while time.monotonic() < deadline:
                try:
                    r = await client.post("/api/v1/tickets", json=payload)
                    if r.status_code == 202:
                        acknowledged[payload["external_id"]] = r.json()["id"]
                        break
                except httpx.HTTPError:
                    pass
                failures += 1
                await asyncio.sleep(0.2)

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return acknowledged, failures


async def chaos(cluster: Cluster, rng: random.Random, stop: asyncio.Event, wipe_after: float) -> bool:
    """Kill the API or the worker every 1-3 s; flush Redis once after ``wipe_after`` seconds."""
    t0 = time.monotonic()
    wiped = False
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=rng.uniform(1, 3))
        if stop.is_set():
            break
        await asyncio.to_thread(cluster.kill_and_restart, rng.choice(["api", "worker"]))
        if not wiped and time.monotonic() - t0 > wipe_after:
            await asyncio.to_thread(cluster.flush_redis)
            wiped = True
    return wiped


def rows(backend: str, data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    if backend == "postgres":
        import psycopg

        with psycopg.connect(c.PG_DSN) as conn:
            return list(conn.execute(sql).fetchall())
    with sqlite3.connect(data_dir / "tierroute.db") as conn:
        return list(conn.execute(sql).fetchall())


def queue_members(tiers: range) -> dict[int, set[int]]:
    import redis

    client = redis.Redis.from_url(c.REDIS_URL)
    try:
        return {t: {int(m) for m in client.zrange(f"tierroute:queue:{t}", 0, -1)} for t in tiers}
    finally:
        client.close()


async def run(args: argparse.Namespace) -> dict[str, int]:
    data_dir = c.fresh_dir(f"chaos-{args.backend}")
    if args.backend == "postgres":
        c.reset_postgres()
    c.flush_redis_db14()
    embedded = args.backend == "embedded"
    env = c.bench_env(
        database_url=c.PG_URL if args.backend == "postgres" else None,
        redis_url=None if embedded else c.REDIS_URL,
        data_dir=data_dir / "data" if embedded else data_dir,
    )
    db_dir = data_dir / "data" if embedded else data_dir
    token = c.add_lead(env)
    write_customers_csv(data_dir / "customers.csv")
    c.cli(env, "customers", "import", str(data_dir / "customers.csv"))
    rng = random.Random(args.seed)
    payloads = [{**ticket_payload(i, rng), "external_id": f"chaos-{i}"} for i in range(args.tickets)]
    cluster = Cluster(env, args.port, data_dir)
    cluster.embedded = embedded
    cluster.start("api")
    if not embedded:
        cluster.start("worker")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}", headers=headers, timeout=10) as client:
            await wait_ready(client, cluster.children["api"], 60)
            stop = asyncio.Event()
            deadline = time.monotonic() + args.timeout
            chaos_task = asyncio.create_task(chaos(cluster, rng, stop, wipe_after=args.wipe_after))
            t0 = time.perf_counter()
            acknowledged, failures = await post_until_acknowledged(client, payloads, args.concurrency, deadline)
            posting_s = time.perf_counter() - t0
            stop.set()
            wiped = await chaos_task
            # After the storm: a fresh API and worker (the worker reconciles at start), and reconcile once more.
            await asyncio.to_thread(cluster.kill_and_restart, "worker")
            await asyncio.to_thread(cluster.kill_and_restart, "api")
            await wait_ready(client, cluster.children["api"], 60)
        c.cli(env, "reconcile", timeout=300)
        settle = time.monotonic() + 120
        while (
            time.monotonic() < settle
            and rows(args.backend, db_dir, "SELECT count(*) FROM ticket WHERE status = 'new'")[0][0]
        ):
            await asyncio.sleep(0.5)
        members = cluster.queue_members(range(5))  # the embedded Redis stops with ``up``: read it first
    finally:
        cluster.stop_all()
    tickets = rows(args.backend, db_dir, "SELECT id, status, support_tier FROM ticket")
    ids = {t[0] for t in tickets}
    queued = [(tid, tier) for tid, status, tier in tickets if status == "queued"]
    verified = subprocess.run(
        [sys.executable, "-m", "router.cli", "audit", "verify"], env=env, capture_output=True, text=True, timeout=300
    )
    verify_out, verify_rc = verified.stdout + verified.stderr, verified.returncode
    counts = {
        "tickets posted": args.tickets,
        "acknowledged (202)": len(acknowledged),
        "failed attempts retried": failures,
        "API kills": cluster.kills["api"],
        "worker kills": cluster.kills["worker"],
        "Redis wiped": int(wiped),
        "ACKNOWLEDGED BUT MISSING": len(set(acknowledged.values()) - ids),
        "DUPLICATE EXTERNAL IDS": len(
            rows(
                args.backend,
                db_dir,
                "SELECT source, external_id FROM ticket WHERE external_id IS NOT NULL "
                "GROUP BY source, external_id HAVING count(*) > 1",
            )
        ),
        "ROUTED TWICE": len(
            rows(
                args.backend,
                db_dir,
                "SELECT ticket_id FROM audit_event WHERE action = 'routed' GROUP BY ticket_id HAVING count(*) > 1",
            )
        ),
        "STILL UNROUTED": sum(1 for _, status, _ in tickets if status == "new"),
        "QUEUED BUT NOT IN ITS TIER QUEUE": sum(1 for tid, tier in queued if tid not in members.get(tier, set())),
        "IN MORE THAN ONE TIER QUEUE": sum(1 for tid in ids if sum(tid in m for m in members.values()) > 1),
        "BROKEN CHAINS (audit verify exit code)": verify_rc,
    }
    print(f"audit verify: {verify_out.strip().splitlines()[-1] if verify_out.strip() else '(no output)'}")
    print(f"posting took {posting_s:.1f}s")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backend", choices=["postgres", "sqlite", "embedded"], default="postgres")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--wipe-after", type=float, default=10, help="seconds into the storm to flush Redis")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    print(c.code_version(), flush=True)
    counts = asyncio.run(run(args))
    c.print_table(
        f"chaos on {args.backend}: must-be-zero counts in CAPITALS",
        ["measure", "count"],
        list(map(list, counts.items())),
    )
    bad = {k: v for k, v in counts.items() if k.isupper() or k.split(" (")[0].isupper()}
    print("ALL ZERO" if not any(bad.values()) else f"NOT ZERO: { {k: v for k, v in bad.items() if v} }")


if __name__ == "__main__":
    main()
