"""Live messages over Redis pub/sub, and ticket presence in Redis hashes with short lifetimes.

Every API process subscribes for its own open streams, so a change committed by one process (or a worker)
reaches pages served by any other. Presence is one hash per ticket: field the agent's id, value JSON with
the moments its viewing and typing lapse; readers skip lapsed fields, and the whole key expires soon after
the last beat, so a crashed process leaves nothing behind for long.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from queues.names import AGENTS_SEEN, live_channel, presence_key, redis_db
from router.context import LiveBusUnavailable, Presence
from router.effects import live, ticket_topic


class RedisLiveListener:
    """Implements ``router.context.LiveListener`` over one pub/sub connection."""

    def __init__(self, pubsub: PubSub, channel_prefix: str) -> None:
        self.pubsub = pubsub
        self.channel_prefix = channel_prefix

    async def next(self, wait_seconds: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + wait_seconds
        while (left := deadline - time.monotonic()) > 0:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            try:
                data = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            if isinstance(data, dict):
                return {**data, "topic": channel.removeprefix(self.channel_prefix)}
        return None


class RedisLiveBus:
    """Implements ``router.context.LiveBusPort``."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.db = redis_db(redis)

    @asynccontextmanager
    async def listen(self, topics: Sequence[str]) -> AsyncIterator[RedisLiveListener]:
        """Subscribed for the block; a lost connection inside it (or at the start) is ``LiveBusUnavailable``."""
        pubsub = self.redis.pubsub()
        try:
            await pubsub.subscribe(*(live_channel(self.db, t) for t in topics))
            yield RedisLiveListener(pubsub, live_channel(self.db, ""))
        except (RedisError, OSError) as exc:
            raise LiveBusUnavailable(repr(exc)) from exc
        finally:
            with suppress(RedisError, OSError):
                await pubsub.aclose()

    async def publish(self, topic: str, message: str) -> None:
        await self.redis.publish(live_channel(self.db, topic), message)

    async def present(self, ticket_id: int, agent_id: int, name: str, *, typing: bool, ttl: float) -> bool:
        """Viewing (``typing`` False) or typing beat: that state lasts ``ttl`` seconds, the other is kept."""
        key, now = presence_key(ticket_id), time.time()
        before = _decode(await cast("Awaitable[bytes | None]", self.redis.hget(key, str(agent_id)))) or {}
        seen_before, typing_before = float(before.get("seen_until", 0)), float(before.get("typing_until", 0))
        seen_until = max(seen_before, now + ttl) if typing else now + ttl
        typing_until = now + ttl if typing else typing_before
        value = {"name": name, "seen_until": seen_until, "typing_until": typing_until}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, str(agent_id), json.dumps(value))
            pipe.expire(key, int(max(seen_until, typing_until) - now) + 5)
            await pipe.execute()
        changed = seen_before <= now or (typing and typing_before <= now)
        if changed:
            await self._announce(ticket_id)
        return changed

    async def leave(self, ticket_id: int, agent_id: int) -> None:
        try:
            if await cast("Awaitable[int]", self.redis.hdel(presence_key(ticket_id), str(agent_id))):
                await self._announce(ticket_id)
        except (RedisError, OSError) as exc:
            raise LiveBusUnavailable(repr(exc)) from exc

    async def who(self, ticket_id: int) -> list[Presence]:
        now, found = time.time(), []
        for field, raw in (
            await cast("Awaitable[dict[bytes, bytes]]", self.redis.hgetall(presence_key(ticket_id)))
        ).items():
            value = _decode(raw)
            if value is None or _seen(value) <= now:
                continue
            agent_id = int(field)
            found.append(Presence(agent_id, str(value.get("name", "")), float(value.get("typing_until", 0)) > now))
        return sorted(found, key=lambda p: (p.name, p.agent_id))

    async def seen(self, agent_id: int) -> None:
        try:
            await cast("Awaitable[int]", self.redis.hset(AGENTS_SEEN, str(agent_id), str(time.time())))
        except (RedisError, OSError) as exc:
            raise LiveBusUnavailable(repr(exc)) from exc

    async def last_seen(self) -> dict[int, float]:
        try:
            raw = await cast("Awaitable[dict[bytes, bytes]]", self.redis.hgetall(AGENTS_SEEN))
        except (RedisError, OSError) as exc:
            raise LiveBusUnavailable(repr(exc)) from exc
        return {int(k): float(v) for k, v in raw.items()}

    async def last_seen_or_unknown(self) -> dict[int, float]:
        """``last_seen``, or nothing when Redis is away (nobody counts as gone; their status still rules)."""
        try:
            return await self.last_seen()
        except LiveBusUnavailable:
            return {}

    async def _announce(self, ticket_id: int) -> None:
        effect = live(ticket_topic(ticket_id), "presence", {})
        await self.publish(effect.topic, effect.message)


def _decode(raw: bytes | str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _seen(value: dict[str, Any]) -> float:
    return float(value.get("seen_until", 0))
