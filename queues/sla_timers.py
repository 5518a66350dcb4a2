"""SLA timers in one Redis sorted set: schedule and cancel are O(log n), and a ticker claims what is due.

No periodic scan over open tickets: the ticker asks Redis for members scored up to now (``ZRANGEBYSCORE
... LIMIT``), removes them in the same Lua call so each is claimed once, and enqueues the SLA check job
(``router.effects.sla_check_job``) with a deterministic job id. The job reloads the clock and acts only if
that generation is still due.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence

import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis

from queues.dispatch import enqueue
from queues.names import SLA_TIMERS
from router.effects import sla_check_job

log = structlog.get_logger(__name__)
#: Members claimed per Lua call; more are claimed in the same tick until none is due.
CLAIM_BATCH = 1000

_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #due, 2 do redis.call('ZREM', KEYS[1], due[i]) end
return due
"""


def now_ms() -> int:
    return int(time.time() * 1000)


async def schedule(redis: Redis, timers: Iterable[tuple[str, int]]) -> int:
    """Add or move timers (member, epoch ms) in one pipeline."""
    mapping = dict(timers)
    if not mapping:
        return 0
    await redis.zadd(SLA_TIMERS, mapping)
    return len(mapping)


async def cancel(redis: Redis, members: Sequence[str]) -> None:
    if members:
        await redis.zrem(SLA_TIMERS, *members)


async def claim_due(redis: Redis, at_ms: int, limit: int = CLAIM_BATCH) -> list[tuple[str, int]]:
    """Atomically take up to ``limit`` timers due at ``at_ms``; each member goes to exactly one caller."""
    raw = await redis.eval(_CLAIM, 1, SLA_TIMERS, str(at_ms), str(limit))  # type: ignore[misc]
    return [(raw[i].decode(), int(float(raw[i + 1]))) for i in range(0, len(raw), 2)]


async def tick(pool: ArqRedis, at_ms: int | None = None) -> int:
    """Claim every due timer and enqueue its SLA check job; a failed enqueue puts the timers back."""
    at = now_ms() if at_ms is None else at_ms
    fired = 0
    while True:
        due = await claim_due(pool, at)
        if not due:
            return fired
        try:
            for member, _score in due:
                await enqueue(pool, sla_check_job(member))
        except Exception:
            await schedule(pool, due)  # Redis hiccup: the timers stay due for the next tick
            raise
        fired += len(due)
        if len(due) < CLAIM_BATCH:
            return fired


async def run_ticker(pool: ArqRedis, interval: float) -> None:
    """Tick forever (the worker process runs this beside its arq workers)."""
    while True:
        try:
            await tick(pool)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis down: the supervisor's reconcile rebuilds timers afterwards
            log.warning("sla_tick_failed", error=repr(exc))
        await asyncio.sleep(interval)
