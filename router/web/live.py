"""Live queue updates as server-sent events: depth and head of each visible tier, sent when they change.

The stream polls the tier queues (two cheap Redis reads per tier and second) rather than subscribing to
a channel: it needs no publisher in every code path that moves a ticket, and reconcile's repairs show up
too. The browser (``static/app.js``) turns each event into an htmx refresh of the page's queue tables.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from router.context import TierQueuePort
from router.models.columns import utcnow

#: Ids at the head that, when they change, mean the first page of the queue looks different.
HEAD = 50
HEARTBEAT_SECONDS = 15.0
#: Streams end after this long and the browser reconnects (spreads load, picks up a changed session).
MAX_STREAM_SECONDS = 600.0


async def tier_events(
    queue: TierQueuePort, tiers: list[int], *, poll_seconds: float, max_seconds: float = MAX_STREAM_SECONDS
) -> AsyncIterator[str]:
    """``event: tier`` with ``{tier, depth, oldest_age_seconds}`` whenever a tier's queue changed."""
    yield "retry: 3000\n\n"
    seen: dict[int, tuple[int, list[int]]] = {}
    started = last_sent = time.monotonic()
    while time.monotonic() - started < max_seconds:
        for tier in tiers:
            depth = await queue.depth(tier)
            head = await queue.page(tier, 0, HEAD)
            if seen.get(tier) == (depth, head):
                continue
            seen[tier] = (depth, head)
            oldest = await queue.oldest_created_ms(tier)
            age = round(utcnow().timestamp() - oldest / 1000) if oldest is not None else None
            data = json.dumps({"tier": tier, "depth": depth, "oldest_age_seconds": age})
            yield f"event: tier\ndata: {data}\n\n"
            last_sent = time.monotonic()
        if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(poll_seconds)
