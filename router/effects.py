"""Redis work a transaction asks for, applied only after it commits (and dropped if it rolls back).

Services never talk to Redis or arq directly: they record effects on the session, and the edge that owns
the transaction (request dependency, job wrapper, CLI) hands them to an ``EffectSink`` after the commit.
A crash between commit and apply loses nothing: ``tierroute reconcile`` rebuilds the same state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from router import job_names

_KEY = "tierroute.effects"
_UNDO_KEY = "tierroute.undo"

#: arq queue of the routing job; tier automation uses the tier's number.
ROUTING = "route"
#: arq queue of outbound mail.
MAIL = "mail"
#: arq queue of event publishing and outbound webhooks.
WEBHOOKS = "webhooks"
#: arq queue of SLA checks (kept apart so a routing backlog cannot delay breaches).
SLA = "sla"


@dataclass(frozen=True)
class PlaceInQueue:
    tier: int
    ticket_id: int
    score: float
    created_ms: int


@dataclass(frozen=True)
class RemoveFromQueue:
    tier: int
    ticket_id: int


@dataclass(frozen=True)
class EnqueueJob:
    """An arq job; ``job_id`` is deterministic so a repeated enqueue is a no-op while the job exists."""

    function: str
    args: tuple[int | str, ...]
    job_id: str
    #: ``ROUTING``, ``MAIL``, ``WEBHOOKS`` or a support tier number.
    queue: str | int
    #: Run it no earlier than this (an offer's timeout); None: now.
    defer_until: datetime | None = None


@dataclass(frozen=True)
class PublishEvent:
    """An outbox event to fan out; the sink enqueues its ``publish_job`` only if a subscription wants the type
    (unwanted events stay in the outbox as a record)."""

    event_id: str
    event_type: str


@dataclass(frozen=True)
class ScheduleTimer:
    """An SLA timer: ``member`` (``ticket:kind:generation``) fires at ``at_ms`` (epoch milliseconds)."""

    member: str
    at_ms: int


@dataclass(frozen=True)
class CancelTimer:
    member: str


@dataclass(frozen=True)
class PublishLive:
    """A message for the agents' open pages (server-sent events), published on a Redis channel after the
    commit: ``topic`` is ``agent:<id>`` (notifications) or ``ticket:<id>`` (changes, presence); ``message``
    is JSON text. Live messages are hints to refresh: one lost to an outage costs a stale page, no data."""

    topic: str
    message: str


@dataclass(frozen=True)
class WakeAssigner:
    """Work or capacity appeared in ``tier`` (a ticket queued, an agent available, an offer answered): the sink
    enqueues the tier's assigner job when the tier pushes (``rules/assignment.yaml``); a pulling tier ignores it."""

    tier: int


@dataclass(frozen=True)
class CredentialsChanged:
    """An agent's tokens, role or standing changed: every API process's token cache starts over
    (``router.agents.tokens``), so the change is in force on the next request."""


Effect = (
    PlaceInQueue
    | RemoveFromQueue
    | EnqueueJob
    | PublishEvent
    | ScheduleTimer
    | CancelTimer
    | PublishLive
    | CredentialsChanged
    | WakeAssigner
)


class EffectSink(Protocol):
    async def apply(self, effects: Sequence[Effect]) -> None: ...


def after_commit(session: AsyncSession, effect: Effect) -> None:
    session.info.setdefault(_KEY, []).append(effect)


def on_rollback(session: AsyncSession, effect: Effect) -> None:
    """Undo for Redis work done before the commit (a popped queue entry goes back if the claim fails)."""
    session.info.setdefault(_UNDO_KEY, []).append(effect)


def drop_undo(session: AsyncSession, effect: Effect) -> None:
    """Forget an undo that no longer applies (the popped entry was stale and is dropped for good)."""
    undo: list[Effect] = session.info.get(_UNDO_KEY, [])
    if effect in undo:
        undo.remove(effect)


def take_effects(session: AsyncSession) -> list[Effect]:
    session.info.pop(_UNDO_KEY, None)
    effects: list[Effect] = session.info.pop(_KEY, [])
    return effects


def take_undo(session: AsyncSession) -> list[Effect]:
    session.info.pop(_KEY, None)
    undo: list[Effect] = session.info.pop(_UNDO_KEY, [])
    return undo


def agent_topic(agent_id: int) -> str:
    """The live topic of one agent: their notifications."""
    return f"agent:{agent_id}"


def ticket_topic(ticket_id: int) -> str:
    """The live topic of one ticket: its changes and who has it open."""
    return f"ticket:{ticket_id}"


def live(topic: str, event: str, data: dict[str, Any]) -> PublishLive:
    """``event`` (the SSE event name) with its ``data``, for the pages listening on ``topic``."""
    return PublishLive(topic, json.dumps({"event": event, **data}, default=str, separators=(",", ":")))


def route_job(ticket_id: int) -> EnqueueJob:
    return EnqueueJob(job_names.ROUTE_TICKET, (ticket_id,), f"route:{ticket_id}", ROUTING)


def mail_job(message_id: int) -> EnqueueJob:
    return EnqueueJob(job_names.SEND_MAIL, (message_id,), f"mail:{message_id}", MAIL)


def publish_event(event_id: str, event_type: str) -> PublishEvent:
    return PublishEvent(event_id, event_type)


def publish_job(event_id: str) -> EnqueueJob:
    """Fan an outbox event out to the endpoints that want it."""
    return EnqueueJob(job_names.PUBLISH_EVENT, (event_id,), f"publish:{event_id}", WEBHOOKS)


def deliver_job(delivery_id: int) -> EnqueueJob:
    """Send one stored outbound webhook (retried with backoff)."""
    return EnqueueJob(job_names.DELIVER_WEBHOOK, (delivery_id,), f"deliver:{delivery_id}", WEBHOOKS)


def automation_job(ticket_id: int, tier: int) -> EnqueueJob:
    return EnqueueJob(job_names.AUTOMATE_TIER, (ticket_id, tier), f"automate:{ticket_id}:{tier}", tier)


def automation_batch_job(tier: int, ticket_ids: Sequence[int]) -> EnqueueJob:
    """Tier automation for tickets that entered ``tier`` in one intake batch: one job, not one per ticket.
    It also takes the tier's older waiting tickets (``automation.run_batch``), so under load the jobs of the
    batches after it find their tickets done. The job id names the batch by its ids' digest."""
    ids = ",".join(str(i) for i in sorted(ticket_ids))
    digest = hashlib.blake2b(ids.encode(), digest_size=8).hexdigest()
    return EnqueueJob(job_names.AUTOMATE_TIER_BATCH, (tier, max(ticket_ids)), f"automate:{tier}:batch:{digest}", tier)


def sla_check_job(member: str) -> EnqueueJob:
    """The SLA check of one timer; the id names the clock's generation, so a double claim is one job."""
    ticket_id, kind, generation = member.split(":")
    return EnqueueJob(job_names.CHECK_SLA, (int(ticket_id), kind, int(generation)), f"sla:{member}", SLA)


def assign_job(tier: int, *, again: bool = False) -> EnqueueJob:
    """The tier's assigner: offers queued tickets to available agents until one or the other runs out.

    ``again``: its second slot, for a wake that comes while the first runs (``queues.dispatch``)."""
    return EnqueueJob(job_names.ASSIGN_TIER, (tier,), f"assign:{tier}:again" if again else f"assign:{tier}", ROUTING)
