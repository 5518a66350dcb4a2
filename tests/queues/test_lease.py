"""The leased lock: a live holder keeps it past its lease, a holder that stops renewing loses it within one."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from queues.lease import LeaseBusy, leased


async def test_a_live_holder_keeps_the_lock_past_its_lease_and_a_dead_one_loses_it(private_redis: str) -> None:
    redis = Redis.from_url(private_redis)
    try:
        async with leased(redis, "test:lock", wait=0, lease=0.6):
            await asyncio.sleep(1.5)  # well past the lease: renewed meanwhile
            with pytest.raises(LeaseBusy):
                async with leased(redis, "test:lock", wait=0.2, lease=0.6):
                    pass
        assert not await redis.exists("test:lock")  # released on exit

        # A holder killed mid-work leaves its key with at most one lease to live: the next one waits that long.
        await redis.set("test:lock", "token-of-a-dead-process", px=600)
        started = time.monotonic()
        async with leased(redis, "test:lock", wait=5, lease=0.6):
            assert time.monotonic() - started < 1.5
    finally:
        await redis.aclose()
