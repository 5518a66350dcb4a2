"""One live stream per open page (server-sent events): the agent's notifications on every page, the tier
queues on queue pages (``live.TierWatch``), and on a ticket page the ticket's changes and who else has it
open or is typing (collision detection).

Notifications and ticket changes arrive over Redis pub/sub (``LiveBusPort``), so a change committed by any
API process or worker reaches the pages every process serves. Each message names the ticket's tier, and a
stream passes on nothing about a tier the agent may not see: a ticket moved out of their tiers ends the
ticket stream with ``event: gone``. The stream keeps the agent's presence on the ticket alive while it is
open and removes it when it ends; presence has short lifetimes in Redis, so a lost process is forgotten
within ``PRESENCE_TTL``.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import anyio
import structlog

from router.context import LiveBusPort, LiveBusUnavailable, LiveListener, Presence, TierQueuePort
from router.effects import agent_topic, ticket_topic
from router.models.agents import Agent
from router.web.live import HEARTBEAT_SECONDS, MAX_STREAM_SECONDS, TierWatch

log = structlog.get_logger(__name__)
#: A viewer's presence lapses this long after the stream's last beat (a crashed process, a lost network).
PRESENCE_TTL = 20.0
BEAT_SECONDS = 5.0
#: "typing" lapses this long after the page's last keystroke report (the page reports every ~2 s).
TYPING_TTL = 6.0


@dataclass(frozen=True)
class Viewer:
    """The agent behind a stream, as plain values (the stream outlives the request's database session)."""

    agent_id: int
    name: str
    is_lead: bool
    tiers: frozenset[int]

    @classmethod
    def of(cls, agent: Agent) -> Viewer:
        assert agent.id is not None
        return cls(agent.id, agent.name, agent.is_lead, frozenset(agent.tiers))

    def may_see(self, tier: Any) -> bool:
        return self.is_lead or tier is None or tier in self.tiers


def sse(event: str, data: dict[str, Any], *, event_id: int | None = None) -> str:
    """One event; ``event_id`` (notifications only) comes back as ``Last-Event-ID`` when the browser
    reconnects, so the stream replays what the page has not seen."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


#: What a (re)connecting stream replays at most; the notifications page lists the rest.
REPLAYED = 20
#: The unread notifications after an id, as the live messages the bus would have carried.
MissedNotifications = Callable[[int], Awaitable[list[dict[str, Any]]]]


def notification_event(message: dict[str, Any]) -> str:
    return sse("notification", message, event_id=message.get("id"))


def presence_data(others: list[Presence]) -> dict[str, Any]:
    return {"others": [{"agent_id": p.agent_id, "name": p.name, "typing": p.typing} for p in others]}


@dataclass
class _TicketWatch:
    ticket_id: int
    shown: list[Presence] | None = None
    next_beat: float = 0.0


async def page_events(
    live: LiveBusPort,
    queue: TierQueuePort,
    viewer: Viewer,
    *,
    tiers: list[int],
    ticket_id: int | None,
    poll_seconds: float,
    missed: MissedNotifications | None = None,
    since: int = 0,
    offers: Sequence[dict[str, Any]] = (),
    max_seconds: float = MAX_STREAM_SECONDS,
) -> AsyncIterator[str]:
    """The page's events until ``max_seconds`` (the browser reconnects) or the ticket leaves the agent's tiers.

    The stream subscribes before its first byte, then replays the unread notifications after ``since`` (the
    newest the page was rendered with, or the browser's ``Last-Event-ID``): a notice committed while the page
    loaded or the stream reconnected would otherwise never reach it (pub/sub keeps nothing). The page drops
    an id it has already counted.

    :param tiers: the tiers whose queues the page shows live (none: no tier events).
    :param ticket_id: the ticket whose page this is (already checked visible), for changes and presence.
    """
    topics = [agent_topic(viewer.agent_id)] + ([ticket_topic(ticket_id)] if ticket_id is not None else [])
    watch = TierWatch(queue, tiers)
    ticket = _TicketWatch(ticket_id) if ticket_id is not None else None
    retry_said = False
    try:
        async with live.listen(topics) as listener:
            yield "retry: 3000\n\n"
            retry_said = True
            for message in await missed(since) if missed is not None else []:
                if viewer.may_see(message.get("support_tier")):
                    yield notification_event(message)
            for offer in offers:  # push assignment: offers made before the page connected (it skips known ones)
                yield sse("offer", offer)
            started = last_sent = time.monotonic()
            next_seen = 0.0
            while time.monotonic() - started < max_seconds:
                if time.monotonic() >= next_seen:  # push assignment: an open page means the agent is here
                    await live.seen(viewer.agent_id)
                    next_seen = time.monotonic() + BEAT_SECONDS
                events = await watch.changes() if tiers else []
                if ticket is not None:
                    events += await _presence(live, viewer, ticket)
                gone = False
                async for event in _messages(listener, viewer, poll_seconds):
                    events.append(event)
                    gone = gone or event.startswith("event: gone")
                for event in events:
                    yield event
                    last_sent = time.monotonic()
                if gone:
                    return
                if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
                    yield ": keep-alive\n\n"
                    last_sent = time.monotonic()
    except LiveBusUnavailable as exc:  # Redis is away: end the stream; the browser retries in 3 s
        log.warning("live_stream_ended", agent_id=viewer.agent_id, error=str(exc))
        if not retry_said:
            yield "retry: 3000\n\n"
    finally:
        if ticket is not None:
            # The page is gone: so is the agent's presence (with Redis away, its lifetime runs out on its own).
            with anyio.CancelScope(shield=True), suppress(LiveBusUnavailable):
                await live.leave(ticket.ticket_id, viewer.agent_id)


async def _messages(listener: LiveListener, viewer: Viewer, wait: float) -> AsyncIterator[str]:
    """The pub/sub messages of one poll interval, as events the viewer may see."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        message = await listener.next(left)
        if message is None:
            return
        kind, tier = message.pop("event", None), message.get("support_tier")
        if kind == "notification" and viewer.may_see(tier):
            yield notification_event(message)
        elif kind == "offer" and viewer.may_see(tier):
            yield sse("offer", message)
        elif kind == "offer_gone":
            yield sse("offer_gone", message)
        elif kind == "changed" and not viewer.may_see(tier):
            yield sse("gone", {"support_tier": tier})
            return
        elif kind == "changed":
            yield sse("changed", message)
        elif kind == "presence":
            return  # read presence now rather than at the end of the interval


async def _presence(live: LiveBusPort, viewer: Viewer, ticket: _TicketWatch) -> list[str]:
    """Keep the viewer present; an event when the others on the ticket changed."""
    if time.monotonic() >= ticket.next_beat:
        await live.present(ticket.ticket_id, viewer.agent_id, viewer.name, typing=False, ttl=PRESENCE_TTL)
        ticket.next_beat = time.monotonic() + BEAT_SECONDS
    others = [p for p in await live.who(ticket.ticket_id) if p.agent_id != viewer.agent_id]
    if others == ticket.shown:
        return []
    ticket.shown = others
    return [sse("presence", presence_data(others))]
