"""A Redis lock held under a short lease that its holder renews while it works.

A lock with one long timeout outlives a holder that is SIGKILLed and blocks every process after it for
that long (it was 300 s for the reconcile lock). A short lease, renewed by a background task of the
holder, lapses a few seconds after the holder dies, however long the work of a live holder takes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

log = structlog.get_logger(__name__)

#: How long a lock outlives a holder that stopped renewing it (killed, or its event loop stalled).
LEASE_SECONDS = 10.0


class LeaseBusy(LockError):
    """Another live process holds the lock, still, after the wait."""


@asynccontextmanager
async def leased(redis: Redis, name: str, *, wait: float | None, lease: float = LEASE_SECONDS) -> AsyncIterator[None]:
    """Hold the lock ``name`` for the body, renewed every third of ``lease``; wait up to ``wait`` seconds
    for it (``None``: as long as it takes). ``LeaseBusy`` when the wait runs out.

    If a renewal finds the lock lost (the event loop stalled past the lease), the body is not interrupted:
    the work guarded here must stay correct when two runs overlap, the lock only spares the repeat.
    """
    lock = Lock(redis, name, timeout=lease, blocking_timeout=wait, thread_local=False)
    if not await lock.acquire():
        raise LeaseBusy(f"{name} is held by another process (waited {wait} s)")
    renewer = asyncio.create_task(_renew(lock, lease / 3))
    try:
        yield
    finally:
        renewer.cancel()
        await asyncio.gather(renewer, return_exceptions=True)
        with contextlib.suppress(LockError):  # lapsed or taken over: nothing of ours to release
            await lock.release()


async def _renew(lock: Lock, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await lock.reacquire()  # the TTL back to the full lease, only if the token is still ours
        except LockError:
            log.warning("lease_lost", lock=str(lock.name))
            return
