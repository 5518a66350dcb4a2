"""What the intake benchmarks send: JSON tickets the default rulebook spreads over the tiers, the mail corpus
with fresh Message-IDs, customers to import, and the poster that sends them and counts new tickets."""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import aiohttp
import orjson

# (subject, body) pairs: the default rulebook sends them to different tiers.
SUBJECTS: list[tuple[str, str]] = [
    ("How do I reset my password?", "I forgot my password and cannot find where to reset it."),
    ("Where can I find the documentation for exports", "Is there a tutorial for the CSV export?"),
    ("Invoice for last month looks wrong", "We were charged twice, please send a refund and a receipt."),
    ("Question about our subscription", "Can we change the billing contact on the subscription?"),
    ("API returns 500 error on export", "Calling the export API gives a 500 with a stack trace since this morning."),
    ("SSO login fails with certificate error", "Our SSO integration fails: ssl certificate exception."),
    ("Webhook timeout", "Your webhook calls to our endpoint hit a timeout after 10 s."),
    ("Production down: dashboard not loading", "The whole site is down for all our users, service down."),
    ("Possible data loss after import", "Records are missing after yesterday's import, looks like lost data."),
    ("Payment gateway failing", "The payment gateway integration is failing for every card payment."),
    ("SMS delivery failed", "SMS delivery to customers failed overnight, messages not delivered via the carrier."),
    ("Feature request: dark mode", "It would be nice to have a dark theme in the agent console."),
    ("Thank you", "Just wanted to say thanks for the quick help last week."),
    ("Need help with user roles", "We want to give read-only access to our auditors."),
]
N_CUSTOMERS = 40  # 10 per value tier; requesters at other domains get the default customer tier


def write_customers_csv(path: Path) -> None:
    lines = ["external_ref,name,tier,domains,contacts"]
    for i in range(N_CUSTOMERS):
        tier = i % 4 + 1
        lines.append(f"CUST-{i:03d},Customer {i},{tier},cust{i}.example.com,owner@cust{i}.example.com")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def ticket_payload(i: int, rng: random.Random) -> dict[str, Any]:
    subject, body = SUBJECTS[rng.randrange(len(SUBJECTS))]
    if rng.random() < 0.75:
        email = f"user{rng.randrange(60)}@cust{rng.randrange(N_CUSTOMERS)}.example.com"
    else:
        email = f"someone{rng.randrange(500)}@unknown{rng.randrange(50)}.example.org"
    payload: dict[str, Any] = {"subject": f"{subject} (#{i})", "body": body, "requester_email": email}
    roll = rng.random()
    if roll < 0.1:
        payload["priority"] = "urgent"
    elif roll < 0.2:
        payload["priority"] = "low"
    return payload


class Poster:
    """POSTs tickets (``--kind json``: /api/v1/tickets) or raw mail (``--kind email``: /api/v1/intake/email)
    with aiohttp (about a third of httpx's client CPU per request, which the server gets), and counts the
    requests that made a new ticket: those are what the end-to-end figure waits for in the tier queues."""

    def __init__(self, client: aiohttp.ClientSession, kind: str) -> None:
        self.client = client
        self.kind = kind
        self.created = 0

    async def __call__(self, payload: Any) -> int:
        try:
            if self.kind == "email":
                request = self.client.post("/api/v1/intake/email", data=payload, headers=RFC822)
            else:
                request = self.client.post("/api/v1/tickets", json=payload)
            async with request as response:
                answer = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            return -1
        if status == 202:
            body = orjson.loads(answer)
            made = body["outcome"] == "created" and not body["duplicate"] if self.kind == "email" else body["created"]
            self.created += bool(made)
        return status


RFC822 = {"content-type": "message/rfc822"}
MAIL_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "mail"


def mail_payloads(count: int, offset: int) -> list[bytes]:
    """The corpus's messages in turn, each with a Message-ID of its own (so none is a repeat)."""
    corpus = [p.read_bytes() for p in sorted(MAIL_DIR.rglob("*.eml"))]
    return [b"Message-ID: <bench-%d@bench.example>\r\n" % (offset + i) + corpus[i % len(corpus)] for i in range(count)]


def payloads_for(args: argparse.Namespace, count: int, offset: int, rng: random.Random) -> list[Any]:
    if args.kind == "email":
        return mail_payloads(count, offset)
    return [ticket_payload(offset + i, rng) for i in range(count)]
