"""A fixed-window rate limiter in Redis: one ``INCR`` per request, so every API process shares the count."""

from __future__ import annotations

from redis.asyncio import Redis

from queues.names import PREFIX

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
  return ttl
end
return -1
"""


class RedisRateLimiter:
    """Implements ``router.context.RateLimiter``."""

    def __init__(self, redis: Redis) -> None:
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        wait = int(await self._hit(keys=[f"{PREFIX}:rate:{key}"], args=[window_seconds, limit]))
        return None if wait < 0 else max(wait, 1)
