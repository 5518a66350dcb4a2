"""Redis key and arq queue names, in one place."""

from __future__ import annotations

from typing import Any

from router.effects import MAIL, ROUTING, SLA, WEBHOOKS

PREFIX = "tierroute"
ROUTING_QUEUE = f"{PREFIX}:arq:route"
MAIL_QUEUE = f"{PREFIX}:arq:mail"
WEBHOOKS_QUEUE = f"{PREFIX}:arq:webhooks"
SLA_QUEUE = f"{PREFIX}:arq:sla"
#: The arq queue of each ``router.effects`` queue, in the order burst mode drains them; tier automation
#: has one arq queue per tier (``tier_arq_queue``).
ARQ_QUEUES = {ROUTING: ROUTING_QUEUE, MAIL: MAIL_QUEUE, SLA: SLA_QUEUE, WEBHOOKS: WEBHOOKS_QUEUE}
#: Sorted set of SLA timers: member ``ticket:kind:generation``, score = when it fires (epoch ms).
SLA_TIMERS = f"{PREFIX}:sla:timers"
#: Written when the tier queues are rebuilt from the database; its absence means Redis lost its data
#: (FLUSHDB, a restart without persistence) and the queues must be rebuilt (``queues.reconcile``).
GENERATION = f"{PREFIX}:generation"
#: Held by the process rebuilding the tier queues (a short lease: ``queues.lease``).
RECONCILE_LOCK = f"{PREFIX}:reconcile:lock"
#: Held while a worker applies the tier policy (one review at a time, whatever the number of workers).
TIER_REVIEW_LOCK = f"{PREFIX}:tier-review:lock"
#: One breach forecast run at a time (two would record the same prediction twice).
FORECAST_LOCK = f"{PREFIX}:forecast:lock"
#: The credentials epoch every API process checks its token cache against (``queues.credentials``).
CREDENTIALS_EPOCH = f"{PREFIX}:credentials:epoch"


def tier_arq_queue(tier: int) -> str:
    """arq queue for a support tier's automation jobs."""
    return f"{PREFIX}:arq:tier:{tier}"


def arq_queue_for(queue: str | int) -> str:
    """The arq queue of a ``router.effects`` queue or of a support tier's number."""
    return ARQ_QUEUES[queue] if isinstance(queue, str) and queue in ARQ_QUEUES else tier_arq_queue(int(queue))


def tier_queue_key(tier: int) -> str:
    """Sorted set of ticket ids waiting in a tier, scored by ``router.tierqueues.ordering``."""
    return f"{PREFIX}:queue:{tier}"


def tier_age_key(tier: int) -> str:
    """Same members scored by creation time (ms), so the oldest waiting ticket is one ``ZRANGE`` away."""
    return f"{PREFIX}:queue:{tier}:age"


def counter_key(name: str) -> str:
    """An expiring counter (login throttling); ``name`` says what is counted, e.g. ``login:email:...``."""
    return f"{PREFIX}:counter:{name}"


def live_channel(db: int, topic: str) -> str:
    """Pub/sub channel of a live topic (``agent:7``, ``ticket:42``): every API process's open streams hear it.
    Pub/sub ignores the database number, so it is part of the name: installations sharing a Redis server
    on different databases must never hear each other's tickets and agents (``redis_db``)."""
    return f"{PREFIX}:live:{db}:{topic}"


def redis_db(redis: Any) -> int:
    """The database number a client (or pool) of ``redis.asyncio`` talks to."""
    pool = getattr(redis, "connection_pool", redis)
    return int(pool.connection_kwargs.get("db") or 0)


def presence_key(ticket_id: int) -> str:
    """Hash of who has a ticket open: field agent id, value JSON ``{name, seen_until, typing_until}``."""
    return f"{PREFIX}:presence:{ticket_id}"


#: Hash of each agent's last live beat: field the agent's id, value epoch seconds (push assignment's away).
AGENTS_SEEN = f"{PREFIX}:agents:seen"
