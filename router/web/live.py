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


class TierWatch:
    """The tiers' depth and head as last sent; ``changes`` gives an event for each tier that moved since."""

    def __init__(self, queue: TierQueuePort, tiers: list[int]) -> None:
        self.queue, self.tiers = queue, tiers
        self.seen: dict[int, tuple[int, list[int]]] = {}

    async def changes(self) -> list[str]:
        """``event: tier`` with ``{tier, depth, oldest_age_seconds}`` for each tier whose queue changed."""
        found = []
        for tier in self.tiers:
            depth = await self.queue.depth(tier)
            head = await self.queue.page(tier, 0, HEAD)
            if self.seen.get(tier) == (depth, head):
                continue
            self.seen[tier] = (depth, head)
            oldest = await self.queue.oldest_created_ms(tier)
            age = round(utcnow().timestamp() - oldest / 1000) if oldest is not None else None
            data = json.dumps({"tier": tier, "depth": depth, "oldest_age_seconds": age})
            found.append(f"event: tier\ndata: {data}\n\n")
        return found


async def tier_events(
    queue: TierQueuePort, tiers: list[int], *, poll_seconds: float, max_seconds: float = MAX_STREAM_SECONDS
) -> AsyncIterator[str]:
    """``event: tier`` whenever a tier's queue changed (``TierWatch``), with keep-alives between."""
    yield "retry: 3000\n\n"
    watch = TierWatch(queue, tiers)
    started = last_sent = time.monotonic()
    while time.monotonic() - started < max_seconds:
        for event in await watch.changes():
            yield event
            last_sent = time.monotonic()
        if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(poll_seconds)
