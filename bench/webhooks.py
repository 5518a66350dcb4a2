"""Verified webhooks per second, end to end: signed deliveries in, tickets routed into their tier queues.

A webhooks configuration with one generic source is written for a fresh database; ``tierroute serve``
and ``tierroute worker`` run as subprocesses. N deliveries are signed beforehand with the
``standardwebhooks`` library (as a sender would), then POSTed at the chosen concurrency, with a share of
redeliveries (same ``webhook-id``) mixed in. Measured:

* verification alone, in process: signatures checked per second (one secret, and the last of three);
* intake latency (p50/p90/p99) and verified webhooks/s accepted (202);
* end to end: N / (first POST -> every new ticket sits in its tier queue);
* that redeliveries made no ticket (tickets in the database = distinct deliveries).

Usage: python bench/webhooks.py [--deliveries 2000] [--concurrency 32 | --rate R] [--duplicates 0.1]
       [--backend postgres|sqlite] [--port 8766]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as c
from bench._load import closed_loop, open_loop
from bench._tickets import SUBJECTS
from bench.intake import queue_depths, wait_depth, wait_ready, wait_worker


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign_all(secret: str, n: int, duplicates: float, rng: random.Random) -> list[tuple[bytes, dict[str, str]]]:
    """``n`` signed deliveries; a ``duplicates`` share are exact redeliveries of earlier ones."""
    from standardwebhooks.webhooks import Webhook

    hook = Webhook(secret)
    out: list[tuple[bytes, dict[str, str]]] = []
    for i in range(n):
        if out and rng.random() < duplicates:
            out.append(rng.choice(out))
            continue
        subject, body = SUBJECTS[i % len(SUBJECTS)]
        payload = {
            "event": "ticket.create",
            "subject": subject,
            "body": body,
            "requester_email": f"user{i % 500}@customer{i % 40}.example",
            "external_id": f"ext-{i}",
            "tags": ["bench"],
        }
        text = json.dumps(payload)
        msg_id = f"msg_{i:08d}"
        now = datetime.now(UTC)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": hook.sign(msg_id, now, text),
            "content-type": "application/json",
        }
        out.append((text.encode(), headers))
    return out


def verification_rate(secret: str, deliveries: list[tuple[bytes, dict[str, str]]]) -> tuple[float, float]:
    """Signatures verified per second with our ``verify``: the right secret first, and third of three."""
    from router.webhooks.signatures import verify

    sample = deliveries[:2000]
    rates = []
    for secrets_list in ((secret,), (new_secret(), new_secret(), secret)):
        t = time.perf_counter()
        for body, headers in sample:
            verify(secrets_list, body, headers)
        rates.append(len(sample) / (time.perf_counter() - t))
    return rates[0], rates[1]


class Poster:
    """POSTs signed deliveries and counts the ones that made a new ticket (not a redelivery)."""

    def __init__(self, client: aiohttp.ClientSession) -> None:
        self.client = client
        self.created = 0

    async def __call__(self, delivery: tuple[bytes, dict[str, str]]) -> int:
        body, headers = delivery
        try:
            async with self.client.post("/api/v1/intake/webhooks/bench", data=body, headers=headers) as r:
                answer = await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError):
            return -1
        if status == 202 and not orjson.loads(answer)["duplicate"]:
            self.created += 1
        return status


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = c.fresh_dir(f"webhooks-{args.backend}")
    if args.backend == "postgres":
        c.reset_postgres()
        database_url: str | None = c.PG_URL
    else:
        database_url = None
    c.flush_redis_db14()
    secret = new_secret()
    config = data_dir / "webhooks.yaml"
    config.write_text(f"sources:\n  bench:\n    secrets: [{secret}]\n    rate_limit: {{requests: 1000000}}\n")
    env = c.bench_env(
        database_url=database_url, redis_url=c.REDIS_URL, data_dir=data_dir, TIERROUTE_WEBHOOKS=str(config)
    )
    token = c.add_lead(env)
    rng = random.Random(20261123)
    deliveries = sign_all(secret, args.deliveries + args.warmup, args.duplicates, rng)
    warm, measured = deliveries[: args.warmup], deliveries[args.warmup :]
    one_secret, third_of_three = verification_rate(secret, deliveries)
    print(f"verify in process: {one_secret:,.0f}/s (one secret), {third_of_three:,.0f}/s (3rd of 3 secrets)")
    print(c.wait_quiet(args.wait_quiet), flush=True)
    api = c.start("api", env, ["serve", "--port", str(args.port)], data_dir)
    worker = c.start("worker", env, ["worker"], data_dir)
    result: dict[str, Any] = {"backend": args.backend, "verify_rate": one_secret, "verify_rate_3": third_of_three}
    try:
        base = f"http://127.0.0.1:{args.port}"
        connector = aiohttp.TCPConnector(limit=max(args.concurrency, int(getattr(args, "rate", 0) or 0)) + 4)
        async with (
            aiohttp.ClientSession(
                base_url=base, connector=connector, timeout=aiohttp.ClientTimeout(total=30)
            ) as client,
            httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as poller,
        ):
            await wait_ready(poller, api, 60)
            await wait_worker(worker, 60)
            deadline = time.monotonic() + args.timeout
            warm_poster = Poster(client)
            await closed_loop(warm_poster, warm, 8, deadline)
            warm_created = warm_poster.created
            await wait_depth(poller, warm_created, deadline)
            meter = c.CpuMeter(
                {"api": api.proc.pid, "worker": worker.proc.pid}, c.PG_DB if args.backend == "postgres" else None
            )
            meter.start()
            poster = Poster(client)
            if args.rate:
                load = await open_loop(poster, measured, args.rate, deadline)
            else:
                load = await closed_loop(poster, measured, args.concurrency, deadline)
            created, t0, t1 = poster.created, load.t_first, load.t_last
            depths = await wait_depth(poller, warm_created + created, deadline)
            t_queued = time.perf_counter()
            cpu = meter.stop()
            tickets = (await poller.get("/api/v1/tickets?limit=1")).json()["total"]
            depths = await queue_depths(poller)
    finally:
        for child in (api, worker):
            print(c.stop(child), flush=True)
    accepted = load.statuses.get(202, 0)
    result.update(
        sent=len(measured),
        accepted=accepted,
        created=created,
        duplicates=accepted - created,
        statuses=load.statuses,
        latency=c.summary_ms(load.latencies),
        late_sends=load.late_sends,
        intake_rate=accepted / (t1 - t0),
        e2e_rate=created / (t_queued - t0),
        tickets_in_db=tickets,
        expected_tickets=warm_created + created,
        depths=depths,
        cpu=cpu,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32, help="closed loop: requests in flight")
    parser.add_argument("--rate", type=float, help="open loop: deliveries/s at a fixed arrival rate")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of redeliveries (same webhook-id)")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--wait-quiet", type=float, default=60)
    args = parser.parse_args()
    print(c.code_version(), flush=True)
    r = asyncio.run(run(args))
    lat = r["latency"]
    c.print_table(
        f"{r['backend']}: {r['sent']} signed deliveries ({r['duplicates']} redeliveries), "
        + (
            f"open loop at {args.rate:g}/s ({r['late_sends']} sent late)"
            if args.rate
            else f"concurrency {args.concurrency}"
        ),
        [
            "backend",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "verified webhooks/s",
            "END-TO-END tickets/s",
            "other statuses",
        ],
        [
            [
                r["backend"],
                lat["p50"],
                lat["p90"],
                lat["p99"],
                lat["p99.9"],
                r["intake_rate"],
                r["e2e_rate"],
                {k: v for k, v in r["statuses"].items() if k != 202} or "-",
            ]
        ],
    )
    cpu = r["cpu"]
    print(
        "CPU seconds while measuring: "
        + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if k not in ("elapsed", "machine busy %"))
        + f"; machine busy {cpu['machine busy %']:.0f}% over {cpu['elapsed']:.1f}s"
    )
    ok = r["tickets_in_db"] == r["expected_tickets"]
    print(
        f"tickets in the database: {r['tickets_in_db']} = distinct deliveries {r['expected_tickets']}: "
        + ("yes (no redelivery made a ticket)" if ok else "NO")
    )
    print(f"verify in process: {r['verify_rate']:,.0f}/s one secret, {r['verify_rate_3']:,.0f}/s third of three")


if __name__ == "__main__":
    main()
