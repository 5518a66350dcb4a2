"""Prometheus metrics (``GET /metrics``)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TICKETS_ACCEPTED = Counter("tierroute_tickets_accepted_total", "Tickets created by intake", ["channel"])
TICKETS_ROUTED = Counter("tierroute_tickets_routed_total", "Tickets routed", ["tier"])
INTAKE_BATCH = Histogram(
    "tierroute_intake_batch_tickets",
    "New tickets opened per group-commit transaction (router.intake.batcher)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
)
CLAIMS = Counter("tierroute_claims_total", "Tickets claimed from a tier queue", ["tier"])
QUEUE_DEPTH = Gauge("tierroute_queue_depth", "Tickets waiting in a tier queue", ["tier"])
#: Push assignment (docs/assignment.md), read from the database at each scrape (the last hour's offers).
ASSIGNMENT_OFFERS = Gauge(
    "tierroute_assignment_offers_last_hour", "Offers made in the last hour by outcome", ["tier", "state"]
)
ASSIGNMENT_LATENCY = Gauge("tierroute_assignment_latency_seconds", "Queued to offered, last hour", ["tier", "quantile"])
AGENT_OPEN = Gauge("tierroute_agent_open_tickets", "Open tickets an agent holds in a tier", ["agent", "tier"])
AGENT_UTILISATION = Gauge(
    "tierroute_agent_utilisation", "Open tickets over the cap, per agent and tier", ["agent", "tier"]
)
REQUEST_SECONDS = Histogram(
    "tierroute_http_request_seconds",
    "HTTP request latency",
    ["method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class RequestTimer:
    """Times every HTTP request by method and status code."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        streaming = False

        async def timed_send(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                # Event streams (the web UI's live updates) stay open for minutes: not request latency.
                streaming = any(
                    k.lower() == b"content-type" and v.startswith(b"text/event-stream")
                    for k, v in message.get("headers", [])
                )
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            if not streaming:
                REQUEST_SECONDS.labels(scope["method"], str(status)).observe(time.perf_counter() - start)
