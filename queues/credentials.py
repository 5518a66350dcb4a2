"""The credentials epoch in Redis (``router.context.CredentialsEpochPort``): every API process checks its
token cache against it on each request, and every change of an agent's access replaces it.

The epoch is a random value, not a counter: after a Redis wipe the first reader sets a fresh one, which
no entry cached before the wipe can match (a counter would start again at values already seen).
"""

from __future__ import annotations

import secrets

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from queues.names import CREDENTIALS_EPOCH

log = structlog.get_logger(__name__)

# Read the epoch, creating it when absent, in one step.
_CURRENT = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  redis.call('SET', KEYS[1], ARGV[1])
  epoch = ARGV[1]
end
return epoch
"""


def _fresh() -> str:
    return secrets.token_hex(8)


class RedisCredentialsEpoch:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._current = redis.register_script(_CURRENT)

    async def current(self) -> str | None:
        try:
            value = await self._current(keys=[CREDENTIALS_EPOCH], args=[_fresh()])
        except (RedisError, OSError) as exc:
            log.warning("credentials_epoch_unreadable", error=repr(exc))
            return None
        return value.decode() if isinstance(value, bytes) else str(value)


async def move_credentials_epoch(redis: Redis) -> None:
    """Every cached token entry, in every process, stops counting."""
    await redis.set(CREDENTIALS_EPOCH, _fresh())
