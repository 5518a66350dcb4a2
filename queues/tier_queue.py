"""The per-tier queue in Redis: two sorted sets per tier (claim order and age) kept in step.

Claim is one Lua script (``ZPOPMIN`` + ``ZREM``), so each entry goes to exactly one caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from redis.asyncio import Redis

from queues.names import tier_age_key, tier_queue_key
from router.context import Popped

_POP = """
local popped = redis.call('ZPOPMIN', KEYS[1])
if #popped == 0 then return false end
local created = redis.call('ZSCORE', KEYS[2], popped[1])
redis.call('ZREM', KEYS[2], popped[1])
return {popped[1], popped[2], created or '0'}
"""


_POP_MANY = """
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
local out = {}
for i = 1, #popped, 2 do
  local created = redis.call('ZSCORE', KEYS[2], popped[i])
  redis.call('ZREM', KEYS[2], popped[i])
  table.insert(out, popped[i])
  table.insert(out, popped[i + 1])
  table.insert(out, created or '0')
end
return out
"""


class RedisTierQueue:
    """Implements ``router.context.TierQueuePort``."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._pop = redis.register_script(_POP)
        self._pop_many = redis.register_script(_POP_MANY)

    async def pop(self, tier: int) -> Popped | None:
        found = await self._pop(keys=[tier_queue_key(tier), tier_age_key(tier)])
        if not found:
            return None
        member, score, created = found
        return Popped(int(member), float(score), int(float(created)))

    async def pop_many(self, tier: int, count: int) -> list[Popped]:
        """Up to ``count`` entries from the head, in claim order, in one atomic step (push assignment's batches)."""
        if count <= 0:
            return []
        found = await self._pop_many(keys=[tier_queue_key(tier), tier_age_key(tier)], args=[count])
        return [Popped(int(found[i]), float(found[i + 1]), int(float(found[i + 2]))) for i in range(0, len(found), 3)]

    async def push(self, tier: int, ticket_id: int, score: float, created_ms: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(tier_queue_key(tier), {str(ticket_id): score})
            pipe.zadd(tier_age_key(tier), {str(ticket_id): created_ms})
            await pipe.execute()

    async def remove(self, tier: int, ticket_id: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(tier_queue_key(tier), str(ticket_id))
            pipe.zrem(tier_age_key(tier), str(ticket_id))
            await pipe.execute()

    async def depth(self, tier: int) -> int:
        return int(await self.redis.zcard(tier_queue_key(tier)))

    async def oldest_created_ms(self, tier: int) -> int | None:
        head = await self.redis.zrange(tier_age_key(tier), 0, 0, withscores=True)
        return int(head[0][1]) if head else None

    async def page(self, tier: int, offset: int, limit: int) -> list[int]:
        members = await self.redis.zrange(tier_queue_key(tier), offset, offset + limit - 1)
        return [int(m) for m in members]

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def replace(self, tier: int, entries: Iterable[tuple[int, float, int]]) -> int:
        """Swap in the exact contents ``(ticket_id, score, created_ms)`` at once (used by reconcile)."""
        queue_key, age_key = tier_queue_key(tier), tier_age_key(tier)
        token = uuid.uuid4().hex  # concurrent rebuilds must never share (and clobber) temporary keys
        tmp_queue, tmp_age = f"{queue_key}:rebuild:{token}", f"{age_key}:rebuild:{token}"
        scores: dict[str, float] = {}
        ages: dict[str, float] = {}
        for ticket_id, score, created in entries:
            scores[str(ticket_id)] = score
            ages[str(ticket_id)] = created
        await self.redis.delete(tmp_queue, tmp_age)
        chunk = 5000
        items = list(scores.items())
        for start in range(0, len(items), chunk):
            part = dict(items[start : start + chunk])
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zadd(tmp_queue, part)
                pipe.zadd(tmp_age, {k: ages[k] for k in part})
                await pipe.execute()
        async with self.redis.pipeline(transaction=True) as pipe:
            if scores:
                pipe.rename(tmp_queue, queue_key)
                pipe.rename(tmp_age, age_key)
            else:
                pipe.delete(queue_key, age_key)
            await pipe.execute()
        return len(scores)
